"""The prompt catalog: every sentence the voice menu can say, in Chinese and English.

A prompt is a key and the text a caller hears, in both languages. `hotline prompts build`
renders each one to `<PROMPTS_DIR>/<lang>/<key>.wav`, so a prompt must be whole words a
speech synthesiser can read; anything that changes per call (an order number, a date, a
price) is said with `digits`/`number` segments between prompts, never baked into one.

Three parts: the fixed sentences below, words for dates/times/money/units/order states, and
the per-category, per-service and per-district names derived from the seed catalog.
"""
from __future__ import annotations

from functools import lru_cache

from tickets import seed
from tickets.workflow import STATES

from .spoken import number_prompts

LANGS = ("zh", "en")

# Fixed sentences, grouped by where the menu uses them.
SENTENCES: dict[str, dict[str, str]] = {
    # language and greeting
    "lang.menu": {"zh": "您好，欢迎致电家政服务热线。中文服务请按1。For English, press 2.",
                  "en": "您好，欢迎致电家政服务热线。中文服务请按1。For English, press 2."},
    "greet.known": {"zh": "您好，欢迎再次致电家政服务联盟热线。", "en": "Hello, and welcome back to the home-services hotline."},
    "greet.new": {"zh": "您好，欢迎致电家政服务联盟热线。", "en": "Welcome to the home-services hotline."},
    # main menu
    "main.menu": {"zh": "预约家政服务请按1，查询订单请按2，投诉建议请按3，"
                        "水管爆裂、停电等紧急维修请按8，人工服务请按0，重听请按9。",
                  "en": "To book a service, press 1. To check an order, press 2. To make a complaint, press 3. "
                        "For an emergency repair such as a burst pipe or a power cut, press 8. "
                        "To speak to an agent, press 0. To hear these options again, press 9."},
    # retries and endings
    "retry.invalid": {"zh": "您的输入有误。", "en": "Sorry, that is not one of the options."},
    "retry.noinput": {"zh": "我们没有收到您的按键。", "en": "Sorry, we did not hear a key press."},
    "retry.transfer": {"zh": "正在为您转接人工客服，请稍候。", "en": "Let me put you through to an agent. Please hold."},
    # said to a queued Twilio caller as an agent's softphone picks the call up (docs/twilio-agents.md)
    "agent.connecting": {"zh": "客服人员已接听，马上为您服务。", "en": "An agent is taking your call now."},
    "retry.goodbye": {"zh": "抱歉，未能完成您的操作。您可以在工作时间再次来电，由人工客服为您服务。",
                      "en": "Sorry, we could not complete your request. Please call again during opening hours "
                            "and an agent will help you."},
    "error.system": {"zh": "抱歉，系统暂时繁忙。", "en": "Sorry, the system is busy at the moment."},
    "bye": {"zh": "感谢您的来电，再见。", "en": "Thank you for calling. Goodbye."},
    "menu.back": {"zh": "返回主菜单请按星号键。", "en": "To go back to the main menu, press star."},
    # booking
    "book.category": {"zh": "请选择服务类别。", "en": "Please choose a type of service."},
    "book.item": {"zh": "请选择服务项目。", "en": "Please choose a service."},
    "book.date": {"zh": "请选择服务日期：今天请按1，明天请按2，后天请按3，其他日期请按4。",
                  "en": "When would you like the service? Today, press 1. Tomorrow, press 2. "
                        "The day after tomorrow, press 3. Another date, press 4."},
    "book.date.enter": {"zh": "请输入4位数字的月和日，例如12月5日请输入1205。",
                        "en": "Please key in the month and day as four digits. For December 5, key 1 2 0 5."},
    # Followed by the number of days (BOOKING_HORIZON_DAYS) and book.date.invalid.days.
    "book.date.invalid": {"zh": "这个日期无法预约，请输入今天起",
                          "en": "That date cannot be booked. Please key in a date within the next"},
    "book.date.invalid.days": {"zh": "天内的日期。", "en": "days."},
    "book.slot": {"zh": "请选择上门时间：上午9点请按1，下午2点请按2，晚上6点请按3。",
                  "en": "What time should we come? 9 in the morning, press 1. 2 in the afternoon, press 2. "
                        "6 in the evening, press 3."},
    "book.slot.past": {"zh": "这个时间已经过去，请选择其他时间。", "en": "That time has already passed. Please choose another time."},
    "book.address.default": {"zh": "您的默认服务地址在", "en": "Your default service address is in"},
    "book.address.on_file": {"zh": "您登记的服务地址", "en": "the address we have on file"},
    "book.address.menu": {"zh": "。使用这个地址请按1，录制新地址请按2。",
                          "en": ". To use this address, press 1. To record a new address, press 2."},
    "book.address.record": {"zh": "请在提示音后说出详细的服务地址，包括区、街道、小区和门牌号，说完请按井号键。",
                            "en": "After the tone, please say the full service address: district, street, "
                                  "building and flat number. Press hash when you have finished."},
    "book.phone": {"zh": "我们无法识别您的来电号码。请输入您的11位手机号码，以井号键结束。",
                   "en": "We cannot see your phone number. Please key in your mobile number, then press hash."},
    "book.phone.invalid": {"zh": "这个号码无效。", "en": "That is not a valid phone number."},
    "book.readback": {"zh": "您预约的是", "en": "You are booking"},
    "book.readback.service": {"zh": "，项目是", "en": ", for"},
    "book.readback.price": {"zh": "，参考价格", "en": ", guide price"},
    "book.readback.default_address": {"zh": "，上门地址为您的默认地址", "en": ", at your default address"},
    "book.readback.voice_address": {"zh": "，上门地址为您刚才录制的地址，客服会与您核实",
                                    "en": ", at the address you recorded; an agent will check it with you"},
    "book.readback.asap": {"zh": "，我们将尽快安排师傅上门", "en": ", and we will send someone as soon as possible"},
    "book.confirm": {"zh": "。确认预约请按1，重新选择请按2。", "en": ". To confirm, press 1. To start again, press 2."},
    "book.done": {"zh": "预约成功，您的订单号是", "en": "Your booking is confirmed. Your order number is"},
    "book.done.repeat": {"zh": "。再说一遍，订单号是", "en": ". Again, your order number is"},
    "book.done.agent": {"zh": "。客服会尽快与您联系，核实服务地址。", "en": ". An agent will call you soon to check the address."},
    "book.done.dispatched": {"zh": "。我们已为您安排服务商，服务人员会按时上门。",
                             "en": ". We have passed your order to a service provider in your area."},
    "book.failed": {"zh": "抱歉，这个预约未能完成。", "en": "Sorry, we could not complete this booking."},
    "book.duplicate": {"zh": "您已经预约过这个时间的同一项服务，没有重复预约。您的订单号是",
                       "en": "You have already booked this service at this time, so nothing new was booked. "
                             "Your order number is"},
    "book.duplicate.agent": {"zh": "。如需再订一单，请转人工服务。", "en": ". To book a second one, please talk to an agent."},
    # emergency
    "emergency.intro": {"zh": "您选择了水电紧急抢修，我们将优先为您安排维修师傅。",
                        "en": "This is the emergency repair line for plumbing and electrical faults. "
                              "We will give your request priority."},
    # status
    "status.anonymous": {"zh": "我们无法识别您的来电号码。", "en": "We cannot see your phone number."},
    "status.none": {"zh": "您目前没有进行中的订单。", "en": "You have no open orders."},
    "status.count": {"zh": "您有", "en": "You have"},
    "status.count.tail": {"zh": "个进行中的订单。", "en": "open orders."},
    "status.count.tail.one": {"zh": "个进行中的订单。", "en": "open order."},
    "status.more": {"zh": "还有更多订单，请转人工查询。", "en": "There are more orders; an agent can read them to you."},
    "status.order": {"zh": "订单", "en": "Order"},
    "svc.unnamed": {"zh": "您预约的服务", "en": "your service"},
    "status.time": {"zh": "，时间：", "en": ", on"},
    "status.state": {"zh": "，状态：", "en": ", status:"},
    "status.menu": {"zh": "输入订单号查询请按1，人工服务请按0，返回主菜单请按9。",
                    "en": "To look up an order number, press 1. To speak to an agent, press 0. "
                          "For the main menu, press 9."},
    "status.enter": {"zh": "请输入10位订单号，以井号键结束。", "en": "Please key in the ten-digit order number, then press hash."},
    "status.invalid": {"zh": "订单号是10位数字。", "en": "Order numbers have ten digits."},
    "status.refused": {"zh": "抱歉，没有找到与您来电号码相符的订单。请核对订单号，或转人工服务。",
                       "en": "Sorry, we found no order with that number for the phone you are calling from. "
                             "Please check the number, or ask an agent."},
    "status.too_many": {"zh": "查询次数过多。", "en": "That is too many attempts."},
    # complaint
    "complaint.latest": {"zh": "您最近的订单是", "en": "Your latest order is"},
    "complaint.menu.latest": {"zh": "。投诉这个订单请按1，投诉其他订单请按2，其他意见建议请按3，人工服务请按0。",
                              "en": ". To complain about this order, press 1. About another order, press 2. "
                                    "For any other complaint or suggestion, press 3. To speak to an agent, press 0."},
    "complaint.menu": {"zh": "投诉某个订单请按2，其他意见建议请按3，人工服务请按0。",
                       "en": "To complain about an order, press 2. For any other complaint or suggestion, press 3. "
                             "To speak to an agent, press 0."},
    "complaint.record": {"zh": "请在提示音后说出您的意见，说完请按井号键。",
                         "en": "After the tone, please tell us what went wrong. Press hash when you have finished."},
    "complaint.done": {"zh": "您的投诉已受理，投诉编号", "en": "Your complaint has been registered. Its number is"},
    # Around the due date and time: the sentence ends in words, so the goodbye after it is heard apart.
    "complaint.due": {"zh": "。我们将在", "en": ". We will answer you by"},
    "complaint.due.end": {"zh": "之前给您答复。", "en": "at the latest."},
    # agent, business hours, callback
    # agent.closed <start time> agent.closed.to <end time> agent.closed.end: the hours sit inside the
    # sentence, which ends in words, so the callback offer after it is a sentence of its own.
    "agent.closed": {"zh": "人工服务时间为每天", "en": "Our agents answer every day from"},
    "agent.closed.to": {"zh": "至", "en": "to"},
    "agent.closed.end": {"zh": "，现在是非工作时间。", "en": ". They are not available now."},
    "agent.holiday": {"zh": "今天是法定节假日，人工服务暂停。", "en": "Today is a public holiday; our agents are not available."},
    "agent.callback": {"zh": "需要客服在工作时间给您回电请按1，结束通话请按2。",
                       "en": "If you would like an agent to call you back during opening hours, press 1. "
                             "To end the call, press 2."},
    "agent.callback.anonymous": {"zh": "我们无法识别您的来电号码，无法为您安排回电，请在工作时间再次来电。",
                                 "en": "We cannot see your phone number, so we cannot call you back. "
                                       "Please call again during opening hours."},
    "callback.done": {"zh": "已为您登记回电，客服会在工作时间尽快给您回电。",
                      "en": "Thank you. An agent will call you back as soon as we are open."},
    # callback instead of hold (queues.conf periodic-announce; extensions.conf hotline-queue-exit)
    "queue.callback.offer": {"zh": "不想继续等待请按1，我们会保留您的排队顺序并给您回电。",
                             "en": "To hang up and keep your place, press 1. We will call you back in turn."},
    "callback.kept": {"zh": "已为您保留排队顺序并登记回电，客服会按顺序尽快给您回电。再见。",
                      "en": "Your place is kept. An agent will call you back in turn. Goodbye."},
    # the outbound survey call (回访), ivr/survey.py
    "survey.intro": {"zh": "您好，这里是家政服务联盟热线的服务回访，关于您的订单",
                     "en": "Hello, this is the home-services hotline calling about your order"},
    "survey.ask": {"zh": "请为本次服务评分：非常满意请按5，满意请按4，一般请按3，不满意请按2，非常不满意请按1。",
                   "en": "Please rate the service: press 5 for very satisfied, 4 for satisfied, 3 for average, "
                         "2 for unsatisfied, or 1 for very unsatisfied."},
    "survey.thanks": {"zh": "感谢您的评价，祝您生活愉快。", "en": "Thank you for your rating. Have a nice day."},
    "survey.thanks.low": {"zh": "很抱歉这次服务没有让您满意，客服会尽快与您联系。",
                          "en": "We are sorry the service did not satisfy you. An agent will contact you soon."},
    "survey.noscore": {"zh": "我们没有收到您的评分，您也可以回复短信1到5评分。",
                       "en": "We did not get a rating. You can also rate by replying to our text with 1 to 5."},
    "survey.done": {"zh": "您已经评价过这个订单，感谢您的支持。", "en": "You have already rated this order. Thank you."},
    # words used inside sentences
    "date.day": {"zh": "日", "en": "day"},
    "time.oclock": {"zh": "点", "en": "o'clock"},
    "time.minutes": {"zh": "分", "en": "minutes"},
    "time.am": {"zh": "上午", "en": "a.m."},
    "time.pm": {"zh": "下午", "en": "p.m."},
    "time.evening": {"zh": "晚上", "en": "p.m."},
    "money.yuan": {"zh": "元", "en": "yuan"},
    "money.fen": {"zh": "分", "en": "fen"},
    "day.today": {"zh": "今天", "en": "today"},
    "day.tomorrow": {"zh": "明天", "en": "tomorrow"},
    "day.after": {"zh": "后天", "en": "the day after tomorrow"},
    "slot.morning": {"zh": "上午9点", "en": "at 9 in the morning"},
    "slot.afternoon": {"zh": "下午2点", "en": "at 2 in the afternoon"},
    "slot.evening": {"zh": "晚上6点", "en": "at 6 in the evening"},
}

# The known caller's greeting as the transcript shows it; the recorded prompt `greet.known` is
# the same sentence without the name, since a name cannot be pre-rendered.
GREETING_BY_NAME = {"zh": "{name}，您好，欢迎再次致电家政服务联盟热线。",
                    "en": "Hello {name}, and welcome back to the home-services hotline."}

# Words for dates and amounts; keys are what phrases.py looks up.
WEEKDAYS = {  # date.weekday() -> words
    0: ("星期一", "Monday"), 1: ("星期二", "Tuesday"), 2: ("星期三", "Wednesday"), 3: ("星期四", "Thursday"),
    4: ("星期五", "Friday"), 5: ("星期六", "Saturday"), 6: ("星期日", "Sunday"),
}
MONTHS = {1: "January", 2: "February", 3: "March", 4: "April", 5: "May", 6: "June", 7: "July",
          8: "August", 9: "September", 10: "October", 11: "November", 12: "December"}
UNITS = {"hour": ("小时", "hours"), "visit": ("次", "visit"), "month": ("个月", "month"), "sqm": ("平方米", "square metres")}

# What a caller hears for each work-order state (every state of tickets.workflow.STATES). The state
# ends the sentence that reads an order out, so each ends with its full stop: the next order read
# after it is heard as a new sentence.
STATUS_WORDS: dict[str, tuple[str, str]] = {
    "new": ("已受理，等待客服确认。", "received, waiting for an agent to confirm it."),
    "confirmed": ("已确认，正在安排服务商。", "confirmed, we are finding a service provider."),
    "dispatched": ("已派给服务商，等待接单。", "passed to a service provider, waiting for them to accept."),
    "accepted": ("服务商已接单。", "accepted by the service provider."),
    "in_service": ("正在服务中。", "in progress."),
    "completed": ("已完工。", "completed."),
    "closed": ("已完成回访并结案。", "completed and closed."),
    "cancelled": ("已取消。", "cancelled."),
    "rework": ("返工处理中。", "being redone."),
}


def _both(zh: str, en: str) -> dict[str, str]:
    return {"zh": zh, "en": en}


def catalog_prompts() -> dict[str, dict[str, str]]:
    """Prompts derived from the seed catalog: category and service choices and names, districts."""
    out: dict[str, dict[str, str]] = {}
    cat = seed.catalog()
    for c in cat["categories"]:
        out[f"cat.{c['key']}"] = _both(f"{c['name_zh']}请按{c['digit']}，", f"For {c['name_en'].lower()}, press {c['digit']}.")
        out[f"cat.{c['key']}.name"] = _both(c["name_zh"], c["name_en"])
    for s in cat["services"]:
        out[f"svc.{s['code']}"] = _both(f"{s['name_zh']}请按{s['digit']}，", f"{s['name_en']}, press {s['digit']}.")
        out[f"svc.{s['code']}.name"] = _both(s["name_zh"], s["name_en"])
    for d in seed.districts():
        out[f"district.{d['code']}"] = _both(d["name_zh"], f"{d['name_en']} district")
    return out


def word_prompts() -> dict[str, dict[str, str]]:
    """Weekday, month, unit and order-state words."""
    out: dict[str, dict[str, str]] = {}
    for n, (zh, en) in WEEKDAYS.items():
        out[f"weekday.{n}"] = _both(zh, en)
    for n, en in MONTHS.items():
        out[f"month.{n}"] = _both(f"{n}月", en)
    for unit, (zh, en) in UNITS.items():
        out[f"unit.{unit}"] = _both(zh, en)
    for state in STATES:
        zh, en = STATUS_WORDS[state]
        out[f"state.{state}"] = _both(zh, en)
    return out


@lru_cache(maxsize=1)
def all_prompts() -> dict[str, dict[str, str]]:
    """Every prompt key with its text in each language (the renderer and the tests read this)."""
    prompts = dict(SENTENCES)
    prompts.update(word_prompts())
    prompts.update(number_prompts())     # numbers and digits are prompts too (ivr/spoken.py)
    prompts.update(catalog_prompts())
    return prompts


def text(key: str, lang: str) -> str:
    """What a caller hears for prompt `key` in `lang`; KeyError names a missing prompt."""
    return all_prompts()[key][lang]


# What the caller did at each menu node, as the agent's screen-pop shows the IVR path
# ("主菜单 › 转人工" rather than node ids). Nodes that only route (start, greet, checks) say
# nothing; a category's item menu is named by the category (cat.<key>.name).
MENU_STEPS: dict[str, tuple[str, str]] = {
    "lang": ("选择语言", "chose a language"),
    "main": ("主菜单", "main menu"),
    "book.category": ("预约服务", "booking"),
    "book.date": ("选日期", "chose a day"),
    "book.date.enter": ("输入日期", "typed a date"),
    "book.slot": ("选时段", "chose a time of day"),
    "book.address.confirm": ("确认地址", "address"),
    "book.address.record": ("录音留下地址", "recorded the address"),
    "book.phone": ("输入电话", "typed a phone number"),
    "book.readback": ("核对预约", "heard the booking read back"),
    "book.restart": ("重新预约", "started the booking again"),
    "book.create": ("提交预约", "booked"),
    "emergency": ("紧急服务", "emergency"),
    "status": ("查询订单", "order status"),
    "status.enter": ("输入工单号", "typed an order number"),
    "complaint": ("投诉建议", "complaint"),
    "complaint.enter": ("输入投诉的工单号", "typed the order number"),
    "complaint.record": ("录音投诉", "recorded a complaint"),
    "agent": ("转人工", "asked for an agent"),
    "agent.callback": ("非工作时间：提供回拨", "after hours: offered a callback"),
    "callback.request": ("请求回拨", "asked for a callback"),
    "fallback": ("未能选择", "got stuck"),
    "survey.score": ("回访评分", "survey: asked for a score"),
    "survey.record": ("回访已评分", "survey: scored"),
    "bye": ("结束", "goodbye"),
}


def menu_path(path: list[str], lang: str) -> list[str]:
    """The caller's way through the menus in words, each step once (a repeated menu is one step)."""
    out: list[str] = []
    for node in path:
        if node.startswith("book.item."):
            key = f"cat.{node.removeprefix('book.item.')}.name"
            words = text(key, lang) if key in all_prompts() else None
        else:
            pair = MENU_STEPS.get(node)
            words = pair[LANGS.index(lang)] if pair else None
        if words and (not out or out[-1] != words):
            out.append(words)
    return out
