"""Every kind of message the platform sends on its own, as data: kind -> parameters and text.

A notice is (kind, params). Mainland providers send it as their approved template (模板) for the
kind, configured per provider (ALIYUN_SMS_TEMPLATES, TENCENT_SMS_TEMPLATES), with `params`; Twilio
and the console provider send `text` filled in with the same params. So the template registered
with Aliyun or Tencent must carry the same parameters: Aliyun by name (${number}), Tencent by
position ({1}, {2}, ... in the order of `params` below).

Parameters are short values, never links (both providers refuse them); fixed wording (how to
change a booking, the hotline's name) lives in the template, not in a parameter.
`reply` carries an answer to a message the number has just sent (sms/conversation.py): its whole
text is one parameter, so its mainland template must be approved as a free-text reply.
"""
from __future__ import annotations

from dataclasses import dataclass

from tickets.config import MAINLAND_PROVIDERS, ConfigError, Settings

from .segments import MAX_REPLY_SEGMENTS, fit


@dataclass(frozen=True)
class Kind:
    params: tuple[str, ...]
    text: str


KINDS: dict[str, Kind] = {
    # Order notices (sms/notices.py).
    "booked": Kind(("number", "service", "when", "check"),
                   "已受理预约，订单号{number}：{service} {when}{check}。查询回复CX {number}"),
    "dispatched": Kind(("number", "franchisee", "when"),
                       "订单{number}已派给{franchisee}，服务时间{when}。查询回复CX {number}"),
    "rescheduled": Kind(("number", "when", "penalty"), "订单{number}已改期至{when}{penalty}。"),
    "cancelled": Kind(("number", "service", "penalty"), "订单{number}（{service}）已取消{penalty}。"),
    "completed": Kind(("number",), "订单{number}已完工，请回复1-5为服务评分（5分最满意）。"),
    "unassigned": Kind(("number", "service", "when"),
                       "订单{number}（{service} {when}）暂时没有服务商能接，客服会尽快与您联系另行安排。查询回复CX {number}"),
    # Follow-through (issue 16): the day-before reminder to the customer, the franchisee and the
    # worker (contact: whom to call about it), urging and escalation of late orders.
    "reminder": Kind(("number", "service", "when", "address", "contact"),
                     "提醒：订单{number}{service}，{when}，地址{address}，联系人{contact}。如需改约请致电热线"),
    "urging": Kind(("number", "why"), "催办：订单{number}{why}，请尽快处理。"),
    "escalation": Kind(("number", "why", "franchisee", "count"),
                       "超时升级：订单{number}{why}，{franchisee}已催办{count}次，请处理或改派。"),
    # The district manager (or the supervisors) told of an escalated order or complaint
    # (tickets.escalation): subject 工单2632800001 / 投诉12, its district, why it is late.
    "manager_escalation": Kind(("subject", "district", "why"), "超时升级：{district}{subject}{why}，已转您处理，请尽快跟进。"),
    # Complaints and surveys.
    "complaint_accepted": Kind(("id", "due"), "已受理您的投诉，编号{id}，我们将在{due}前答复您。"),
    "complaint_answered": Kind(("id", "result"), "您的投诉{id}已处理：{result}。如有疑问请致电热线。"),
    "survey_resend": Kind(("number",), "订单{number}尚未收到您的评价，请回复1-5评分（5分最满意）。"),
    # Self-service and member cards (amounts in yuan, as text: 12.50).
    "otp": Kind(("code",), "验证码{code}，5分钟内有效，请勿告诉他人。"),
    "card_spend": Kind(("card", "amount", "balance"), "会员卡{card}消费¥{amount}，余额¥{balance}。"),
    "card_topup": Kind(("card", "amount", "balance"), "会员卡{card}充值¥{amount}，余额¥{balance}。"),
    "card_refund": Kind(("card", "amount", "balance"), "会员卡{card}退款¥{amount}，余额¥{balance}。"),
    "card_credit": Kind(("card", "amount", "balance"), "会员卡{card}补偿入账¥{amount}，余额¥{balance}。"),
    # An answer to the number's own message (sms/conversation.py).
    "reply": Kind(("text",), "{text}"),
}

TEMPLATE_VARIABLES = {"aliyun": "ALIYUN_SMS_TEMPLATES", "tencent": "TENCENT_SMS_TEMPLATES"}
# What each mainland provider cannot send without (Settings field -> variable).
REQUIRED = {"aliyun": {"key_id": "ALIYUN_SMS_ACCESS_KEY_ID", "secret": "ALIYUN_SMS_ACCESS_KEY_SECRET",
                       "sign_name": "ALIYUN_SMS_SIGN_NAME"},
            "tencent": {"key_id": "TENCENT_SMS_SECRET_ID", "secret": "TENCENT_SMS_SECRET_KEY",
                        "sign_name": "TENCENT_SMS_SIGN_NAME", "app_id": "TENCENT_SMS_SDK_APP_ID"}}


class BadNotice(ValueError):
    """A notice of an unknown kind or with parameters its kind does not have (a programming error)."""


def checked_params(kind: str, params: dict) -> dict[str, str]:
    """`params` as strings, exactly the kind's parameters; BadNotice otherwise."""
    spec = KINDS.get(kind)
    if spec is None:
        raise BadNotice(f"no SMS kind {kind!r}; kinds are: {', '.join(KINDS)}")
    if set(params) != set(spec.params):
        raise BadNotice(f"SMS kind {kind!r} takes {', '.join(spec.params)}; got {', '.join(sorted(params))}")
    return {name: str(params[name]) for name in spec.params}


def render(kind: str, params: dict) -> str:
    """The text Twilio and the console send: the kind's text with `params`, cut to the segment limit."""
    return fit(KINDS[kind].text.format(**checked_params(kind, params)), MAX_REPLY_SEGMENTS)


def positional(kind: str, params: dict) -> list[str]:
    """Tencent's TemplateParamSet: the values in the order the kind lists its parameters."""
    return [str(params[name]) for name in KINDS[kind].params]


def check_config(settings: Settings) -> None:
    """Each configured mainland provider has its credentials and signature, and a template for
    every kind; ConfigError naming the variables, the kinds missing and an example otherwise."""
    problems = []
    for name in settings.sms_providers:
        if name not in MAINLAND_PROVIDERS:
            continue
        account = settings.mainland[name]
        unset = [variable for attr, variable in REQUIRED[name].items() if not getattr(account, attr)]
        if unset:
            problems.append(f"SMS_PROVIDER includes {name}, which needs {', '.join(unset)}")
        configured = account.templates
        missing = [k for k in KINDS if k not in configured]
        unknown = [k for k in configured if k not in KINDS]
        variable = TEMPLATE_VARIABLES[name]
        if missing:
            example = ",".join(f"{k}={'SMS_48000' if name == 'aliyun' else '19000'}{i}" for i, k in enumerate(missing[:2], 1))
            problems.append(f"{variable} has no template for {', '.join(missing)} "
                            f"(kind=code pairs, e.g. {variable}={example},...)")
        if unknown:
            problems.append(f"{variable} names unknown kinds {', '.join(unknown)}; kinds are: {', '.join(KINDS)}")
    if problems:
        raise ConfigError("; ".join(problems))
