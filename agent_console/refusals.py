"""Tickets' refusals in the page's language.

The core words each refusal once, in English, as a template and its values (tickets/errors.py); the
English view shows the sentence as tickets formatted it. The Chinese view looks the template up in
`ZH` below and fills in the same values, naming roles, states, moves and fields by their labels.
tests/console/test_words.py checks that every template raised in tickets/ and agent_console/ has a
Chinese sentence here and that both name the same values.
"""
from __future__ import annotations

import re
from typing import Any

from tickets.errors import HotlineError

from . import history
from .i18n import current_language, label, t

# What a concurrent-change message names (tickets' `what`), in words.
THINGS: tuple[tuple[re.Pattern, str], ...] = tuple((re.compile(p), k) for p, k in (
    (r"^order (\d+)$", "refusal.thing.order"),
    (r"^the survey of order (\d+)$", "refusal.thing.survey"),
    (r"^complaint (\d+)$", "refusal.thing.complaint"),
    (r"^this record$", "refusal.thing.record"),
))

# The input names tickets/inputs.py, money.py and the forms give a refused value.
FIELDS = {"district": "片区", "franchisee": "加盟商", "worker": "服务人员", "service": "服务项目", "agent": "坐席",
          "step": "步骤", "amount": "金额", "price": "价格", "final price": "实际结算价", "guide price": "指导价",
          "QueueTime": "排队时长", "RecordingDuration": "录音时长", "DialCallDuration": "通话时长",
          "from": "开始日期", "to": "结束日期", "date": "日期", "expires": "到期日",
          "compensation": "补偿金额", "page": "页码"}
# What a card refusal names (tickets/cards.py `what` and `kind`).
CARD_WORDS = {"top-up": "充值", "topup": "充值", "spend": "消费", "refund": "退款", "credit": "调整入账",
              "adjustment": "调整", "reversal": "冲正", "freeze": "冻结", "card replacement": "补卡",
              "card closing": "退卡", "pay": "支付", "take a credit": "调整入账",
              "take a top-up": "充值"}
# A move's requirements (tickets.workflow.REQUIREMENT_WORDS and the plain ones).
NEEDS = {"district": "片区（地址未匹配到片区，请选择）", "assigned_worker": "指派的服务人员", "final_price_fen": "实际结算价（分）",
         "franchisee": "加盟商", "worker": "服务人员", "when": "新的服务时间", "survey": "回访结果", "reason": "原因",
         "text": "说明"}

ZH: dict[str, str] = {
    # accounts, log-in, sessions
    "wrong user name or password": "用户名或密码错误。",
    "the account {username} is deactivated; ask an admin": "账号 {username} 已停用，请联系管理员。",
    "too many failed log-ins ({by}); try again after {until:%Y-%m-%d %H:%M:%S} UTC or ask an admin to reset the password":
        "登录失败次数过多（{by}），请在 {until:%Y-%m-%d %H:%M:%S}（UTC）之后重试，或请管理员重置密码。",
    "a password needs at least {min_password_length} characters": "密码至少需要 {min_password_length} 个字符。",
    "role {role!r} is not one of {roles}": "角色“{role}”无效，可选：{roles}。",
    "a user name is 1 to 64 characters without spaces, e.g. agent3": "用户名为 1 到 64 个字符，不含空格，例如 agent3。",
    "the user name {username} is taken; choose another": "用户名 {username} 已被使用，请换一个。",
    "you cannot change your own role; ask another admin": "不能修改自己的角色，请让另一位管理员操作。",
    "you cannot deactivate your own account; ask another admin": "不能停用自己的账号，请让另一位管理员操作。",
    "no user {user_id}": "没有用户 {user_id}。",
    "a franchisee user needs the franchisee it works for; choose one": "加盟商用户需要选择其所属的加盟商。",
    "{username} has no session {session_id}; reload the page and choose again": "{username} 没有会话 {session_id}，请刷新页面后重新选择。",
    # agents, calls
    "{username} is a {role}; presence is for {call_taking_roles}": "{username} 的角色是“{role}”，只有这些角色有在线状态：{call_taking_roles}。",
    "only the agent themself, a supervisor or an admin may change an agent's presence": "只有坐席本人、班长或管理员可以修改坐席状态。",
    "presence {presence!r} is not one of {presences}": "状态“{presence}”无效，可选：{presences}。",
    "only the agent who took the call, a supervisor or an admin may wrap it up": "只有接听此来电的坐席、班长或管理员可以做话后处理。",
    "disposition {disposition!r} is not one of {dispositions}": "处理结果“{disposition}”无效，可选：{dispositions}。",
    "call notes are {length} characters; keep them under {notes_max}": "通话备注有 {length} 个字符，请控制在 {notes_max} 个以内。",
    "no call offer {event_id} on your screen": "您的屏幕上没有来电 {event_id}。",
    "extension {extension!r} is not a queue member or Twilio client name; use e.g. PJSIP/agent1 or client:agent1 (letters, digits, / : @ . _ - +)":
        "分机“{extension}”不是有效的队列成员或 Twilio 客户端名，例如 PJSIP/agent1 或 client:agent1（字母、数字及 / : @ . _ - +）。",
    "extension {extension} is already used by {username}; each agent needs their own so calls pop on the right screen":
        "分机 {extension} 已由 {username} 使用；每位坐席需要自己的分机，来电才能弹到正确的屏幕。",
    "no call {data} to link; open the form from the call's card again": "没有可关联的来电 {data}，请从来电卡片重新打开表单。",
    # orders: numbers, search, booking
    "no work order {num}": "没有工单 {num}（或您无权查看）。",
    "no work order {number!r}; order numbers are 10 digits, like 2632700001": "没有工单“{number}”：工单号是10位数字，例如 2632700001。",
    "{text!r} is not a work-order number; they are 10 digits, like 2632700001": "“{text}”不是工单号：工单号是10位数字，例如 2632700001。",
    "more than {per_day} work orders on day {day}; numbers would not fit in 10 digits": "{day} 的工单超过 {per_day} 个，工单号已超出10位。",
    "give the order number, or at least 4 of its digits, e.g. 2632700001 or 00001": "请输入工单号，或至少其中4位数字，例如 2632700001 或 00001。",
    "give the whole phone number, or at least 4 of its digits, e.g. 13800138000 or 8000": "请输入完整电话号码，或至少其中4位数字，例如 13800138000 或 8000。",
    "no district {district_id}; choose one from the list": "没有片区 {district_id}，请从列表中选择。",
    "unknown service code {service!r}; choose one from the list": "未知的服务代码“{service}”，请从列表中选择。",
    "status {status!r} is not one of: open, {states}": "状态“{status}”无效，可选：open、{states}。",
    "the end date {date_to} is before the start date {date_from}; swap them": "结束日期 {date_to} 早于开始日期 {date_from}，请对调。",
    "{text!r} is not a phone number; give a mainland mobile like 13800138000, a landline with area code like 0991-2345678, or +E.164 like +8613800138000":
        "“{text}”不是有效的电话号码：请填写手机号（如 13800138000）、带区号的固定电话（如 0991-2345678）或国际格式（如 +8613800138000）。",
    "unknown service code {code!r}; codes are: {codes}": "未知的服务代码“{code}”，可用代码：{codes}。",
    "channel {channel!r} is not one of {channels}": "来源“{channel}”无效，可选：{channels}。",
    "the service time must be in the future; got {value:%Y-%m-%d %H:%M} local time": "服务时间必须在将来，当前填写的是 {value:%Y-%m-%d %H:%M}（本地时间）。",
    "{text!r} is not a time; write YYYY-MM-DD HH:MM, e.g. 2026-12-01 09:00": "“{text}”不是有效时间，请按 YYYY-MM-DD HH:MM 填写，例如 2026-12-01 09:00。",
    '{text!r} is not a time; write YYYY-MM-DD HH:MM, e.g. 2026-12-01 09:00, or "tomorrow 09:00"':
        "“{text}”不是有效时间，请按 YYYY-MM-DD HH:MM 填写，例如 2026-12-01 09:00，或 “tomorrow 09:00”。",
    "{phone} already has order {number} for {service} at {start:%Y-%m-%d %H:%M}; nothing was booked. Book a second one only if the customer confirms they want two":
        "{phone} 已有 {start:%Y-%m-%d %H:%M} 的{service}工单 {number}，本次未下单。只有客户确认需要两单时才再订一单。",
    "bookings are taken up to {days} days ahead, until {last:%Y-%m-%d}; choose an earlier date (got {day:%Y-%m-%d})":
        "最多可预约 {days} 天内的服务（至 {last:%Y-%m-%d}），请选择更早的日期（当前为 {day:%Y-%m-%d}）。",
    "{dt:%Y-%m-%d %H:%M} is out of range; write a date of this century, e.g. 2026-12-01 09:00": "{dt:%Y-%m-%d %H:%M} 超出范围，请填写本世纪的日期，例如 2026-12-01 09:00。",
    "the new time must be in the future; got {value} (UTC)": "新的服务时间必须在将来，当前为 {value}（UTC）。",
    "quantity must be a whole number from 1 to 1000; got {value!r}": "数量必须是 1 到 1000 的整数，当前为“{value}”。",
    "{name} {value!r} is not a date; write YYYY-MM-DD, e.g. 2026-12-01": "{name}“{value}”不是日期，请按 YYYY-MM-DD 填写，例如 2026-12-01。",
    "choose the district the address is in": "请选择地址所在的片区。",
    "cancel of order {number} needs a reason": "取消工单 {number} 需要填写原因。",
    # the work-order moves
    "unknown action {action!r}; actions are: {moves}": "未知操作“{action}”，可用操作：{moves}。",
    "order {number} is {status}; it cannot {action} (from {status} the allowed moves are: {moves})":
        "工单 {number} 当前状态为“{status}”，不能执行“{action}”（此状态下可执行：{moves}）。",
    "role {role} may not {action} order {number} (you may: {moves})": "“{role}”角色不能对工单 {number} 执行“{action}”（您可以：{moves}）。",
    "{action} of order {number} needs {missing}": "工单 {number} 执行“{action}”需要：{needs}。",
    "{what} was changed by someone else a moment ago; reload it and try again": "{what}刚刚被其他人修改，请刷新后重试。",
    "order {number} is {status}; its district is chosen only while it is new": "工单 {number} 当前状态为“{status}”，只有新建工单才能选择片区。",
    "role {role} may not place orders in district {name_zh}": "“{role}”角色不能把工单放到片区 {name_zh}。",
    "order {number} is booked for {day:%Y-%m-%d}: it cannot start before its service day unless you give a reason (e.g. moved forward at the customer's request)":
        "工单 {number} 预约在 {day:%Y-%m-%d}：服务日之前开工需要填写原因（例如应客户要求提前）。",
    # dispatch, franchisees, workers
    "{franchisee} cannot take order {number}: {why}": "{franchisee} 不能承接工单 {number}：{why}。",
    "{franchisee} cannot take order {number}: {why}; candidates: {candidates}": "{franchisee} 不能承接工单 {number}：{why}；可选：{candidates}。",
    "no franchisee {fid}; choose one from the list": "没有加盟商 {fid}，请从列表中选择。",
    "no franchisee {franchisee_id}": "没有加盟商 {franchisee_id}。",
    "a franchisee needs its registered name": "加盟商需要填写注册名称。",
    "status {status!r} is not one of {statuses}": "状态“{status}”无效，可选：{statuses}。",
    "daily capacity is a whole number of orders from 0 to 10000; got {daily_capacity!r}": "每日接单量必须是 0 到 10000 的整数，当前为“{daily_capacity}”。",
    "there is already a franchisee named {name}": "已有名为 {name} 的加盟商。",
    "no services {ids}": "没有服务项目 {ids}。",
    "no worker {worker_id}": "没有服务人员 {worker_id}。",
    "a worker needs a name": "服务人员需要填写姓名。",
    "no district {district_id}": "没有片区 {district_id}。",
    "a district priority is 1 (first choice) to 9; got {prio!r}": "片区优先级为 1（首选）到 9，当前为“{prio}”。",
    "worker {name} belongs to another franchisee; add them there as a new worker": "服务人员 {name} 属于另一家加盟商，请在本公司新增该人员。",
    "choose the worker to assign": "请选择要指派的服务人员。",
    "worker {name} does not belong to the franchisee of order {number}": "服务人员 {name} 不属于工单 {number} 的加盟商。",
    "worker {name} is not active": "服务人员 {name} 已停用。",
    "worker {name} cannot be assigned: their skills do not cover {service} ({code}); choose a worker who does this service, or add the skill to the worker's record":
        "不能指派服务人员 {name}：其技能不包括{service}（{code}）。请选择会做此项服务的人员，或在人员档案中添加该技能。",
    "worker {name} cannot be assigned: health certificate (健康证) missing; add it or choose another worker":
        "不能指派服务人员 {name}：没有健康证。请补充健康证或选择其他人员。",
    "worker {name} cannot be assigned: health certificate (健康证) expired on {expires:%Y-%m-%d}; renew it or choose another worker":
        "不能指派服务人员 {name}：健康证已于 {expires:%Y-%m-%d} 过期。请更新健康证或选择其他人员。",
    "worker {name} cannot be assigned: health certificate (健康证) expires before the service day, {expires:%Y-%m-%d}; renew it or choose another worker":
        "不能指派服务人员 {name}：健康证在服务日之前（{expires:%Y-%m-%d}）过期。请更新健康证或选择其他人员。",
    "working hours {text!r} are not HH:MM-HH:MM (local time), e.g. 08:00-20:00; leave them empty for the hotline's BUSINESS_HOURS":
        "营业时间“{text}”格式应为 HH:MM-HH:MM（本地时间），例如 08:00-20:00；留空则使用热线的营业时间。",
    # the catalog, districts, calendar, notices
    "category {category!r} is not one of {categories}": "类别“{category}”无效，可选：{categories}。",
    "unit {unit!r} is not one of {units}": "单位“{unit}”无效，可选：{units}。",
    "a service needs its Chinese and English names": "服务项目需要中文名和英文名。",
    "a service code is 1 to 8 capital letters or digits starting with a letter, e.g. BJ; got {code!r}": "服务代码为 1 到 8 位大写字母或数字，以字母开头，例如 BJ；当前为“{code}”。",
    "unknown service fields: {fields}": "未知的服务项目字段：{fields}。",
    "a new service needs: {missing}": "新服务项目需要：{missing}。",
    "category {category} has no free voice-menu key (1-9)": "类别 {category} 已没有空闲的语音菜单按键（1-9）。",
    "voice-menu key {menu_digit} is taken or not 1-9 in {category}; free: {free}": "语音菜单按键 {menu_digit} 在 {category} 中已被占用或不在 1-9 之间；空闲：{free}。",
    "a district needs a code, a Chinese name and an English name, e.g. tianshan, 天山区, Tianshan": "片区需要代码、中文名和英文名，例如 tianshan、天山区、Tianshan。",
    "the name {name_zh} is already district {code}": "名称 {name_zh} 已是片区 {code}。",
    "an alias needs at least 2 characters, e.g. 红山 or 友好路": "别名至少需要2个字符，例如 红山 或 友好路。",
    "{alias} already points at {name_zh}; remove it there first": "{alias} 已指向 {name_zh}，请先在那里删除。",
    "no district alias {alias_id}": "没有片区别名 {alias_id}。",
    "kind must be one of {kinds}; got {kind!r}": "类型必须是 {kinds} 之一，当前为“{kind}”。",
    "holiday name must be one of {holiday_names} (the holiday the day belongs to, a make-up workday's too); got {name!r}":
        "节日名称必须是 {holiday_names} 之一（该日所属的节日，调休上班日也填所属节日），当前为“{name}”。",
    "no calendar entry for {day:%Y-%m-%d}": "{day:%Y-%m-%d} 没有日历条目。",
    "the day is missing; write YYYY-MM-DD, e.g. 2027-02-06": "缺少日期，请按 YYYY-MM-DD 填写，例如 2027-02-06。",
    "{label} {value!r} is not a date; write YYYY-MM-DD, e.g. 2027-06-30": "{label}“{value}”不是日期，请按 YYYY-MM-DD 填写，例如 2027-06-30。",
    "a notice needs a title": "公告需要标题。",
    "a notice title has at most 128 characters; this one has {length}": "公告标题最多128个字符，当前为 {length} 个。",
    # numbers and money from forms
    "{name} must be a whole number from {minimum} to {maximum} in digits 0-9, e.g. {example}; got {text!r}":
        "{name}必须是 {minimum} 到 {maximum} 的整数（数字0-9），例如 {example}；当前为“{text}”。",
    "there is no {name} {row_id}; choose one from the list": "没有{name} {row_id}，请从列表中选择。",
    "{name} must be an amount in yuan with at most 2 decimals, e.g. 120 or 120.50; got {text!r}": "{name}必须是以元为单位、最多两位小数的金额，例如 120 或 120.50；当前为“{text}”。",
    "{name} must be a whole number of fen (分), e.g. 12000 for ¥120.00; got {value!r}": "{name}必须是以分为单位的整数，例如 12000 表示 ¥120.00；当前为“{value}”。",
    "{name} must not be negative; got {value}": "{name}不能为负数，当前为 {value}。",
    # complaints, surveys
    "complaint source {source!r} is not one of {sources}": "投诉来源“{source}”无效，可选：{sources}。",
    "a complaint needs a text, a recording or an order": "投诉需要文字、录音或关联工单。",
    "complaint category {code!r} is not one of {categories}": "投诉类别“{code}”无效，可选：{categories}。",
    "complaint {id} is already {status}; reopen it first": "投诉 #{id} 已是“{status}”状态，请先重新打开。",
    "only the franchisee the complaint concerns gives its account of it": "只有被投诉的加盟商可以提交情况说明。",
    "write your account of what happened: what was done, by whom, and what you propose":
        "请填写情况说明：发生了什么、由谁处理、您的处理建议。",
    "choose the kind of compensation for the amount, or leave the amount empty": "请为补偿金额选择补偿方式，或不填金额。",
    "compensation kind {kind!r} is not one of {kinds}": "补偿方式“{kind}”无效，可选：{kinds}。",
    "a compensation needs an amount above 0 yuan, e.g. 50": "补偿金额须大于 0 元，例如 50。",
    "a refund of {amount} yuan is more than the order's price, {limit} yuan": "退款 {amount} 元超过了工单价格 {limit} 元。",
    "a refund of {amount} yuan is more than COMPLAINT_MAX_REFUND_YUAN, {limit} yuan":
        "退款 {amount} 元超过了单笔退款上限 {limit} 元（COMPLAINT_MAX_REFUND_YUAN）。",
    "a card credit of {amount} yuan is more than COMPLAINT_MAX_REFUND_YUAN, {limit} yuan":
        "会员卡补偿 {amount} 元超过了补偿上限（COMPLAINT_MAX_REFUND_YUAN）{limit} 元。",
    "complaint {id}: the complainant has no open member card to credit; choose a refund, or open a card first":
        "投诉 #{id}：投诉人没有可用的会员卡，无法补偿入账；请改为退款，或先为其开卡。",
    "complaint {id}: the complainant's member card {number} is frozen; unfreeze it first, or choose a refund":
        "投诉 #{id}：投诉人的会员卡 {number} 已冻结；请先解冻，或改为退款。",
    "only a supervisor or an admin decides a complaint": "只有主管或管理员可以对投诉作出处理决定。",
    "only a supervisor or an admin reopens a complaint": "只有主管或管理员可以重新打开投诉。",
    "complaint {id} is {status}, not resolved: there is nothing to reopen": "投诉 #{id} 为“{status}”状态，尚未办结，无需重新打开。",
    "say why the complaint is reopened, e.g. the customer does not accept the answer": "请说明重新打开的原因，例如：客户不接受处理结果。",
    "give the order number the complaint is about, or the complainant's phone number": "请填写投诉涉及的工单号，或投诉人的电话。",
    "resolving a complaint needs the answer given to the customer": "办结投诉需要填写给客户的答复。",
    "complaint {id} has no recording": "投诉 #{id} 没有录音。",
    "the recording of complaint {id} is not in RECORDINGS_DIR ({root})": "投诉 #{id} 的录音不在录音目录（{root}）中。",
    "no complaint {complaint_id}": "没有投诉 #{complaint_id}。",
    "a satisfaction score is a whole number from 1 (very unhappy) to 5 (very happy); got {score!r}": "满意度评分是 1（很不满意）到 5（很满意）的整数，当前为“{score}”。",
    "choose a satisfaction score from 1 (very unhappy) to 5 (very happy); got {value!r}": "请选择 1（很不满意）到 5（很满意）的满意度评分，当前为“{value}”。",
    "the survey of order {number} was already answered ({score})": "工单 {number} 的回访已完成（{score} 分）。",
    # statistics and reports (tickets/metrics.py, tickets/reports.py, tickets/queue_log.py)
    "choose a date range: from and to, e.g. 2026-11-01 to 2026-11-30": "请选择日期范围（开始和结束），例如 2026-11-01 至 2026-11-30。",
    "the range {start} to {end} is empty: the end is before the start": "{start} 至 {end} 的范围为空：结束日期早于开始日期。",
    "the range {start} to {end} is {value} days; choose at most {max_days} days, e.g. one year": "{start} 至 {end} 共 {value} 天，最多可选 {max_days} 天，例如一年。",
    "unknown filter {unknown}; the filters are {allowed}": "未知的筛选条件 {unknown}，可用：{allowed}。",
    "unknown interval {interval!r}; choose one of {intervals}": "未知的统计周期“{interval}”，可选：{intervals}。",
    "this report covers all agents; an agent sees only their own figures": "此报表涵盖所有坐席；坐席只能查看自己的数据。",
    "queue_log {path} cannot be read: {strerror}; check QUEUE_LOG_PATH": "无法读取 queue_log 文件 {path}：{strerror}，请检查 QUEUE_LOG_PATH。",
    "there is no report {name!r}; reports: {reports}": "没有报表“{name}”，可用报表：{reports}。",
    "district {row_id} is not one of your districts": "片区 {row_id} 不是您负责的片区。",
    "a franchisee reads its own figures only": "加盟商只能查看本公司的数据。",
    "an agent reads their own figures only": "坐席只能查看自己的数据。",
    "interval (by) must be one of {intervals} for this report; got {value!r}": "此报表的统计周期必须是 {intervals} 之一，当前为“{value}”。",
    "the range ends ({end}) before it starts ({start}); put the earlier date in 'from'": "结束日期（{end}）早于开始日期（{start}），请把较早的日期填在“开始”。",
    "a range of {days} days is too long for interval {interval}: at most {value} days; choose a shorter range or a longer interval ({value2})":
        "按“{interval}”统计时范围最多 {value} 天，当前为 {days} 天；请缩短范围或选择更长的周期（{value2}）。",
    "group must be one of {group_by}; got {value!r}": "分组必须是 {group_by} 之一，当前为“{value}”。",
    "{name} must be a date written YYYY-MM-DD, e.g. 2026-11-01; got {value!r}": "{name}必须是 YYYY-MM-DD 格式的日期，例如 2026-11-01；当前为“{value}”。",
    "there is no service {value!r}; give its code, e.g. BJ": "没有服务项目“{value}”，请填写其代码，例如 BJ。",
    "channel must be one of {channels}; got {value!r}": "来源必须是 {channels} 之一，当前为“{value}”。",
    "status must be one of {states}; got {value!r}": "状态必须是 {states} 之一，当前为“{value}”。",
    "{name} must be one of {allowed}; got {value!r}": "{name}必须是 {allowed} 之一，当前为“{value}”。",
    "a queue name has at most 64 characters, e.g. hotline-agents": "队列名最多64个字符，例如 hotline-agents。",
    "unknown filter {value!r}; this report takes: {value2}": "未知的筛选条件“{value}”，此报表可用：{value2}。",
    # customer records, callbacks and survey calls, self-service (tickets/customer_records.py, outbound.py, selfservice.py)
    "type at least 2 characters: a phone number, a name, an address, an order number or a card number": "请至少输入2个字符：电话号码、姓名、地址、工单号或会员卡号。",
    "no customer {customer_id}": "没有客户 {customer_id}。",
    "no customer {cid}": "没有客户 {cid}。",
    "cannot edit {fields}; editable: {editable}": "不能修改 {fields}；可修改：{editable}。",
    "write the address, e.g. 天山区解放南路88号": "请填写地址，例如 天山区解放南路88号。",
    "a record cannot be merged with itself; choose the other record of this person": "记录不能与自己合并，请选择此人的另一条记录。",
    "customer {gone_id} has a member card; close it (refunding its balance) before merging": "客户 {gone_id} 有会员卡，请先退卡（退还余额）再合并。",
    "the name is at most 64 characters": "姓名最多64个字符。",
    "language {language!r} is not one of: {languages}, or empty": "语言“{language}”无效，可选：{languages}，或留空。",
    "survey channel {channel!r} is not one of: {channels}": "回访方式“{channel}”无效，可选：{channels}。",
    "customer {cid} was already merged into customer {into}; use that record": "客户 {cid} 已合并到客户 {into}，请使用那条记录。",
    "give the number of the other record of this person (shown on its page)": "请填写此人另一条记录的编号（见该记录页面）。",
    "tick that both records are the same person before merging": "合并前请勾选确认两条记录是同一个人。",
    "no survey call {outbound_id}": "没有回访外呼 {outbound_id}。",
    "the caller's number is withheld: no callback is possible": "来电号码未显示，无法回拨。",
    "no callback request {request_id}": "没有回拨请求 {request_id}。",
    "callback {id} is {status}; only a waiting request can be called": "回拨请求 {id} 当前为“{status}”，只有等待中的请求可以拨打。",
    "callback {id} is due again at {when:%H:%M}; it was just tried": "回拨请求 {id} 刚刚拨打过，下次在 {when:%H:%M}。",
    "no outbound calling is configured (OUTBOUND_VOICE); call the customer by hand and record the outcome": "未配置外呼（OUTBOUND_VOICE），请手动拨打客户电话并记录结果。",
    "user {username} has no extension to ring; an admin sets it on the user page": "用户 {username} 没有可振铃的分机，请管理员在用户页面设置。",
    "user {username} has no Twilio softphone to ring (agents and supervisors have one); call the customer by hand and record the outcome":
        "用户 {username} 没有可振铃的 Twilio 软电话（坐席和主管才有），请手动拨打客户后记录结果。",
    "choose an outcome: {callback_outcomes}; got {outcome!r}": "请选择结果：{callback_outcomes}；当前为“{outcome}”。",
    "callback {id} is {status} already": "回拨请求 {id} 已是“{status}”。",
    "no work order {number}": "没有工单 {number}。",
    "choose the day of the service": "请选择服务日期。",
    "choose a time: {slots}": "请选择时段：{slots}。",
    "{day:%Y-%m-%d} {slot} has passed; choose a later day or time": "{day:%Y-%m-%d} {slot} 已过，请选择更晚的日期或时段。",
    "write the address of the service, e.g. 天山区解放南路88号": "请填写服务地址，例如 天山区解放南路88号。",
    "{phone} already has order {number} for this service at this time; nothing was booked": "{phone} 在这个时间已有此项服务的工单 {number}，本次未下单。",
    "unknown service {service!r}; choose one from the list": "未知的服务项目“{service}”，请从列表中选择。",
    "write the mobile number the code goes to, e.g. 13800138000": "请填写接收验证码的手机号，例如 13800138000。",
    "a code was sent less than a minute ago; wait until {until:%H:%M:%S} before asking again": "验证码刚刚发过，请在 {until:%H:%M:%S} 之后再获取。",
    "too many codes asked for from this number in the last hour; try again later": "这个号码一小时内获取验证码次数过多，请稍后再试。",
    "too many codes asked for from this address in the last hour; try again later": "您所在网络一小时内获取验证码次数过多，请稍后再试。",
    # member cards (tickets/cards.py, agent_console/cards.py)
    "the {what} must be a whole number of fen, e.g. 10000 for 100.00 yuan; got {amount_fen!r}": "{what}金额必须是以分为单位的整数，例如 10000 表示 100.00 元；当前为“{amount_fen}”。",
    "the {what} must be more than 0; got {value} yuan": "{what}金额必须大于0，当前为 {value} 元。",
    "the {what} of {value} yuan is more than the {value2} yuan allowed at once (CARD_MAX_AMOUNT_FEN); check the amount, or split it":
        "{what}金额 {value} 元超过单笔上限 {value2} 元，请核对金额或分笔办理。",
    "a {what} needs a reason (e.g. paid in cash at the service hall, receipt 0123)": "{what}需要填写原因（例如：服务大厅现金缴费，收据0123）。",
    "there is no member card {number!r}; check the number on the card": "没有会员卡“{number}”，请核对卡上的号码。",
    "{value} already has card {number}; top it up, or close it first": "{value}已有会员卡 {number}，请直接充值，或先退卡。",
    "level must be one of {card_level_names}; got {level!r}": "会员等级必须是 {card_level_names} 之一，当前为“{level}”。",
    "card {number} is already {status}": "会员卡 {number} 已是“{status}”状态。",
    "card {number} is closed (退卡); it cannot {what}: open a new card": "会员卡 {number} 已退卡，不能{what}，请开新卡。",
    "card {number} is frozen; it cannot {what} until a supervisor unfreezes it": "会员卡 {number} 已冻结，在班长解冻前不能{what}。",
    "order {number} is not {value}'s; a card pays only its holder's orders": "工单 {number} 不属于{value}，会员卡只能支付持卡人的工单。",
    "ledger row {id} is itself a reversal; make a new top-up, spend or credit instead": "流水 {id} 本身是冲正记录，请改为新建充值、消费或调整。",
    "ledger row {id} is already reversed": "流水 {id} 已冲正。",
    "a spend needs an idempotency key, so that a repeated request pays once": "消费需要请求编号，以免重复提交时重复扣款。",
    "order {number} is {status}: only a completed order is paid by card": "工单 {number} 当前为“{status}”，只有已完工的工单可以用会员卡支付。",
    "{value} of order {number} has no member card; take the payment another way": "工单 {number} 的客户{value}没有会员卡，请用其他方式收款。",
    "order {number} is already paid by card {number2}": "工单 {number} 已用会员卡 {number2} 支付。",
    "order {number} has nothing to pay": "工单 {number} 没有待付金额。",
    "key {idempotency_key!r} was already used for another {kind} on card {number}": "请求编号“{idempotency_key}”已用于会员卡 {number} 的另一笔{kind}。",
    "card {number} has {value} yuan; {value2} yuan cannot be taken from it: top it up first, or take the payment another way":
        "会员卡 {number} 余额 {value} 元，不足以扣除 {value2} 元，请先充值或用其他方式收款。",
    "this {kind} was already recorded (key {key!r} or reversal of row {value}); reload the card": "这笔{kind}已经记录过（请求编号“{key}”或流水 {value} 的冲正），请刷新会员卡页面。",
    "{name} {value!r} is not a date; write YYYY-MM-DD, e.g. {today:%Y-%m-01}": "{name}“{value}”不是日期，请按 YYYY-MM-DD 填写，例如 {today:%Y-%m-01}。",
    "the end date {last} is before the start date {first}; swap them": "结束日期 {last} 早于开始日期 {first}，请对调。",
    "choose a row of this card's ledger to reverse": "请选择要冲正的流水记录。",
    "there is no order {value!r}; check the number, or leave it empty": "没有工单“{value}”，请核对工单号，或留空。",
}


def _moves(text: str) -> str:
    """"accept, reject" or tickets' "none"/"nothing on this order" as labelled moves."""
    names = [m for m in text.split(", ") if m and m not in ("none", "nothing on this order")]
    return t("common.sep").join(label("action", m) for m in names) or t("common.none")


def _zh_values(params: dict[str, Any]) -> dict[str, Any]:
    """The refusal's values as a Chinese reader reads them: labels for roles, states, moves, fields."""
    out = dict(params)
    for key in ("role", "status", "action"):
        if isinstance(out.get(key), str):
            out[key] = label(key, out[key])
    if "moves" in out:
        out["moves"] = _moves(out["moves"])
    if "what" in out:
        out["what"] = CARD_WORDS.get(out["what"]) or history.phrase(out["what"], THINGS)
    if isinstance(out.get("kind"), str):
        out["kind"] = CARD_WORDS.get(out["kind"], out["kind"])
    if "why" in out:
        out["why"] = history.phrase(out["why"])
    if "needs" in out:
        out["needs"] = t("common.sep").join(NEEDS.get(n, n) for n in out["needs"])
    if isinstance(out.get("name"), str):
        out["name"] = FIELDS.get(out["name"], out["name"])
    return out


def message(exc: HotlineError) -> str:
    """The refusal as the page's reader should read it."""
    template = getattr(exc, "template", "")
    if current_language() == "en" or template not in ZH:
        return str(exc)
    return ZH[template].format(**_zh_values(exc.params))
