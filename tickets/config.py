"""Every setting Hotline reads from the environment, in one place.

Each variable has a safe default for a one-machine demo; a bad value raises
`ConfigError` naming the variable and an example of a good value.
"""
from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from datetime import datetime, time, timezone
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class ConfigError(ValueError):
    """A configuration value is unusable; the message names the variable and an example."""


# name -> (default, example, description); the README's table is generated from this.
VARIABLES: dict[str, tuple[str, str, str]] = {
    "DATABASE_URL": ("sqlite:///hotline.db", "postgresql+psycopg://hotline:pw@db/hotline",
                     "SQLAlchemy URL of the database. Default: a SQLite file in the working directory (WAL, foreign keys on)."),
    "REDIS_URL": ("", "redis://127.0.0.1:6379/0",
                  "When set, the event bus and Twilio call state use Redis, so several processes can share them."),
    "SECRET_KEY": ("", "a long random string",
                   "Signs console sessions and CSRF tokens. Required outside demo mode."),
    "TIMEZONE": ("Asia/Shanghai", "Asia/Urumqi", "Zone used to show times and read dates typed by callers; storage is UTC."),
    "HOTLINE_DEMO": ("0", "1", "Demo mode: demo users with password `demo` are allowed. `hotline run --demo` sets it."),
    "WEB_BIND": ("127.0.0.1:8080", "0.0.0.0:8080", "Address the console and webhooks listen on."),
    "WEB_THREADS": ("16", "32", "Worker threads of the production WSGI server (waitress)."),
    "STREAM_SLOTS": ("200", "400", "Agent consoles one web process streams to at once (screen-pops, Server-Sent Events). "
                     "Each holds a thread: waitress gets WEB_THREADS + STREAM_SLOTS threads, so streams never take "
                     "the threads pages need; one more console is told to retry in 15 s."),
    "STREAM_MAX_SECONDS": ("300", "600", "A console's event stream ends after this and the browser reconnects at once, "
                           "resuming from its last event id (nothing is lost); bounds how long a vanished client "
                           "or a session logged out elsewhere keeps a stream."),
    "FASTAGI_BIND": ("127.0.0.1:4573", "0.0.0.0:4573", "Address the FastAGI server listens on."),
    "FASTAGI_ALLOW": ("127.0.0.1,::1", "127.0.0.1,10.0.0.0/24", "Peers (addresses or CIDR networks) allowed to open FastAGI sessions."),
    "FASTAGI_MAX_CALLS": ("200", "500", "Concurrent FastAGI calls served; callers beyond it are refused so Asterisk falls back to the queue."),
    "TRUSTED_PROXIES": ("", "127.0.0.1,10.0.0.0/24",
                        "Reverse proxies (addresses or CIDR networks) whose X-Forwarded-For and X-Forwarded-Proto are "
                        "believed: the client address (log-in throttling, the audit trail) and https (HSTS) come from "
                        "them. Empty: the peer's own address, and forwarded headers are ignored."),
    "AMI_URL": ("", "ami://hotline:secret@127.0.0.1:5038", "Asterisk Manager Interface to listen to for queue events (screen-pop). Empty: not started."),
    "PUBLIC_BASE_URL": ("", "https://hotline.example.cn",
                        "The URL Twilio calls, when the app sits behind a proxy; used to check X-Twilio-Signature."),
    "TWILIO_ACCOUNT_SID": ("", "ACxxxxxxxx", "Twilio account for outbound SMS (REST)."),
    "TWILIO_AUTH_TOKEN": ("", "your auth token", "Checks Twilio webhook signatures and authenticates outbound SMS."),
    "TWILIO_NUMBER": ("", "+8610xxxxxxxx", "The number outbound SMS are sent from."),
    "TWILIO_INSECURE_DEV": ("0", "1", "Development only: accept unsigned Twilio webhooks when no auth token is set."),
    "TWILIO_API_KEY": ("", "SKxxxxxxxx", "API key SID that signs the agents' softphone access tokens (Twilio Voice JS SDK); "
                       "with TWILIO_API_SECRET, TWILIO_TWIML_APP_SID and TWILIO_ACCOUNT_SID it turns the softphone on. "
                       "See docs/twilio-agents.md."),
    "TWILIO_API_SECRET": ("", "the API key's secret", "Secret of TWILIO_API_KEY."),
    "TWILIO_TWIML_APP_SID": ("", "APxxxxxxxx", "TwiML App the softphone calls through; its voice URL is "
                             "`POST <base>/twilio/agent/voice`."),
    "TWILIO_VOICE_SDK_URL": ("https://unpkg.com/@twilio/voice-sdk@2.18.1/dist/twilio.min.js", "https://hotline.example.cn/assets/twilio-voice.min.js",
                             "Where the workspace loads the Twilio Voice JS SDK from when the softphone is configured "
                             "(Twilio no longer hosts it; point this at your own copy to keep the console off the internet)."),
    "SMS_CALLBACK_TOKEN": ("", "a long random string",
                           "Secret in the query string (?token=) of the Aliyun SmsUp and Tencent Cloud SMS reply callback URLs, "
                           "which those providers do not sign. Empty: the endpoints refuse traffic (unless TWILIO_INSECURE_DEV=1)."),
    "SMS_PROVIDER": ("", "aliyun,tencent",
                     "Outbound SMS provider: `twilio`, `console` (stores and logs only), or the mainland providers "
                     "`aliyun` and/or `tencent` in failover order (a message the first refuses goes to the next). "
                     "Default: twilio when credentials are set, else console. See \"SMS to mainland phones\"."),
    "ALIYUN_SMS_ACCESS_KEY_ID": ("", "LTAI5txxxxxxxx", "Aliyun AccessKey ID (a RAM user allowed dysms:SendSms)."),
    "ALIYUN_SMS_ACCESS_KEY_SECRET": ("", "the AccessKey secret", "Secret of ALIYUN_SMS_ACCESS_KEY_ID."),
    "ALIYUN_SMS_SIGN_NAME": ("", "乌鲁木齐家政热线", "Aliyun's approved signature (签名), without 【】."),
    "ALIYUN_SMS_ENDPOINT": ("dysmsapi.aliyuncs.com", "dysmsapi.aliyuncs.com", "Aliyun SMS API host (HOST or HOST:PORT)."),
    "ALIYUN_SMS_TEMPLATES": ("", "booked=SMS_480001,dispatched=SMS_480002,...",
                             "Aliyun template code (模板CODE) of every notice kind, `kind=code` pairs; each kind of the "
                             "table in sms/kinds.py needs one (checked at start-up)."),
    "ALIYUN_SMS_LIMITS": ("50/day", "1/min,5/h,40/day",
                          "Messages one number may get from Aliyun: `count/period` (period s, min, h, day, optionally "
                          "with a number: 1/30s); beyond them the message waits or goes to the next provider."),
    "ALIYUN_SMS_PER_SECOND": ("100", "500", "Messages this process hands to Aliyun per second at most (the account's QPS)."),
    "TENCENT_SMS_SECRET_ID": ("", "AKIDxxxxxxxx", "Tencent Cloud SecretId (CAM user allowed sms:SendSms)."),
    "TENCENT_SMS_SECRET_KEY": ("", "the SecretKey", "Secret of TENCENT_SMS_SECRET_ID."),
    "TENCENT_SMS_SDK_APP_ID": ("", "1400000000", "Tencent SMS application (SmsSdkAppId)."),
    "TENCENT_SMS_SIGN_NAME": ("", "乌鲁木齐家政热线", "Tencent's approved signature (签名) text."),
    "TENCENT_SMS_REGION": ("ap-guangzhou", "ap-beijing", "Tencent Cloud region of the SMS API."),
    "TENCENT_SMS_ENDPOINT": ("sms.tencentcloudapi.com", "sms.tencentcloudapi.com", "Tencent SMS API host (HOST or HOST:PORT)."),
    "TENCENT_SMS_TEMPLATES": ("", "booked=1900001,dispatched=1900002,...",
                              "Tencent template ID of every notice kind, `kind=id` pairs (checked at start-up)."),
    "TENCENT_SMS_LIMITS": ("10/day", "1/30s,5/h,10/day",
                           "Messages one number may get from Tencent (same form as ALIYUN_SMS_LIMITS)."),
    "TENCENT_SMS_PER_SECOND": ("100", "3000", "Messages this process hands to Tencent per second at most."),
    "SMS_PROVIDER_HTTP": ("https", "http", "Scheme of the mainland providers' API (`http` only for a local stand-in in tests)."),
    "SMS_RECEIPTS": ("both", "poll", "How Aliyun and Tencent delivery receipts arrive: `push` (the providers post them to "
                     "PUBLIC_BASE_URL; needs a public URL), `poll` (the scheduler asks the providers, QuerySendDetails "
                     "and PullSmsSendStatusByPhoneNumber; for a hotline behind NAT; pushes are refused), or `both` "
                     "(pushes taken; what has no receipt 2 minutes after its send is asked for)."),
    "SMS_RECEIPT_POLL_SECONDS": ("300", "120", "Seconds between two runs of the `sms-receipts` job (SMS_RECEIPTS poll "
                                 "or both), which asks about every mainland message still `sent` without a receipt, "
                                 "for 3 days after its send (each message less and less often: 2, 4, 8 ... minutes "
                                 "after it, then every 6 hours)."),
    "BUSINESS_HOURS": ("08:00-20:00", "09:00-18:00",
                       "When agents answer (local time); statutory holidays are closed. Also the working hours of a "
                       "franchisee that has none of its own (admin, franchisee page): accept deadlines count only "
                       "working minutes."),
    "BOOKING_HORIZON_DAYS": ("90", "60", "How many days ahead (from today, local) a service may be booked, by every "
                             "channel: voice menu, SMS, console, Twilio."),
    "SELF_SERVICE_MINUTES": ("15", "10", "How long the public lookup page shows an order (and lets its customer change "
                             "or cancel it) after the one-time code was entered; then a new code is needed."),
    "ACCEPT_DEADLINE_MINUTES": ("30", "60",
                                "Working minutes a franchisee has to accept a dispatched order before it goes to the "
                                "next one (派工时限), counted in its working hours: dispatched at 23:38 to a franchisee "
                                "open 08:00-20:00, it is due at 08:30."),
    "QUIET_HOURS": ("21:00-08:00", "22:00-07:30",
                    "Local hours in which the platform sends no reminder, urging, escalation or survey SMS and places no "
                    "survey call (what falls due then waits for the morning). Empty: no quiet hours."),
    "REMINDER_HOUR": ("18", "17", "Local hour of the day before the service from which its reminders go out (customer, "
                      "franchisee, worker); an order booked later than that is reminded at once, quiet hours permitting."),
    "URGE_START_GRACE_MINUTES": ("15", "30", "An accepted order not started this long after its service time is "
                                 "overdue (not started) and its franchisee is urged (催办)."),
    "SERVICE_EXPECTED_MINUTES": ("180", "240", "Expected length of a visit (services sold by the visit or the square "
                                 "metre; by the hour: their hours; by the month: 30 days a month); an order still in "
                                 "service after its start plus this is overdue (not completed)."),
    "URGE_EVERY_MINUTES": ("30", "60", "Time between two urgings (催办 SMS to the franchisee) of one overdue order."),
    "ESCALATE_AFTER_URGINGS": ("3", "2", "An overdue order escalates to its district manager URGE_EVERY_MINUTES "
                               "after its franchisee's urging number this, unless done by then."),
    "ESCALATE_AFTER_MINUTES": ("120", "60", "The second deadline: an order overdue this long escalates whatever the "
                               "number of urgings, once its franchisee was urged and had URGE_EVERY_MINUTES to act; an "
                               "order nobody holds (no one to urge) escalates at it."),
    "COMPLAINT_DUE_HOURS": ("24", "48", "Hours the platform has to answer a complaint (the 24-hour feedback commitment); "
                            "past it the complaint is escalated to the supervisors and the district manager. A reopened "
                            "complaint gets the same time again from its reopening."),
    "COMPLAINT_MAX_REFUND_YUAN": ("2000", "500", "Largest refund a complaint's decision may grant, in yuan; a refund "
                                  "also never exceeds the price of the complaint's order."),
    "WRAP_UP_SECONDS": ("10", "30", "Twilio softphone: seconds after an agent's call ends before the next caller may be offered "
                        "to them, wrap-up form saved or not (as `wrapuptime` in queues.conf does on Asterisk). "
                        "0: they stay in wrap-up until they save it or choose a presence."),
    "SURVEY_RESEND_HOURS": ("24", "48", "Hours after the SMS survey invitation before it is sent once more (notice `survey_resend`) "
                            "when the customer has not answered."),
    "SURVEY_CALL_AFTER_HOURS": ("24", "12", "Hours after the resent survey SMS before the platform calls the customer "
                                "with the voice survey (at once for a number that opted out of SMS)."),
    "SURVEY_CALL_ATTEMPTS": ("3", "2", "Survey calls placed at most per survey (failed originates, no answers, "
                             "busy lines and answering machines all count); then the survey desk keeps it."),
    "SURVEY_RETRY_MINUTES": ("120", "60", "Minutes between one unanswered survey call and the next attempt."),
    "OUTBOUND_VOICE": ("", "asterisk", "Who places survey and callback calls: `asterisk` (AMI Originate over AMI_URL), "
                       "`twilio` (REST calls.create; Twilio fetches the survey menu from PUBLIC_BASE_URL), or `off`. "
                       "Default: asterisk when AMI_URL is set, else twilio when TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, "
                       "TWILIO_NUMBER and PUBLIC_BASE_URL are, else off."),
    "OUTBOUND_TRUNK": ("PJSIP/{number}@carrier", "SIP/{number}@trunk",
                       "Asterisk: the channel a survey call dials; `{number}` is the customer's number as a mainland "
                       "trunk dials it (13800138000, 09914567890)."),
    "OUTBOUND_CALLER_ID": ("", "96156", "The number customers see on survey and callback calls (Asterisk CallerID; "
                           "Twilio uses TWILIO_NUMBER)."),
    "OUTBOUND_MAX_CHANNELS": ("4", "8", "Calls the platform has ringing at once at most (survey calls and callbacks: "
                              "AMI Originates awaiting their OriginateResponse, Twilio calls not yet reported); the "
                              "rest wait in the queue, callbacks first. Set it to the trunk's free channels."),
    "CALLBACK_ATTEMPTS": ("3", "5", "Callback calls tried at most per request before it is given up."),
    "CALLBACK_RETRY_MINUTES": ("30", "60", "Minutes after an unanswered callback before the request is due again."),
    "PROMPTS_DIR": ("asterisk_conf/sounds", "/var/lib/asterisk/sounds/hotline", "Where `hotline prompts build` writes the voice prompts."),
    "RECORDINGS_DIR": ("var/recordings", "/var/spool/hotline",
                       "Where voice notes recorded by the IVR are kept. Made by the FastAGI server at start-up and "
                       "before each recording (Asterisk's RECORD FILE makes no folder); it must be writable by the "
                       "user Asterisk runs as."),
    "QUEUE_LOG_PATH": ("", "/var/log/asterisk/queue_log",
                       "Asterisk's queue_log file. When set, `hotline run`'s scheduler imports its new lines every "
                       "5 s (resuming at the stored offset, across log rotation) for the call statistics."),
    "SERVICE_LEVEL_SECONDS": ("20", "30", "Call statistics: a queue entry answered within this many seconds of waiting "
                              "counts as answered within the service level (docs/metrics.md)."),
    "SHORT_ABANDON_SECONDS": ("5", "10", "Call statistics: a caller who leaves the queue within this many seconds is a "
                              "short abandon, left out of the service level and the abandon rate (0: none are)."),
    "METRICS_ALLOW": ("127.0.0.1,::1", "127.0.0.1,10.0.0.0/24",
                      "Addresses or CIDR networks allowed to read /metrics, /healthz and /readyz (Prometheus, the "
                      "load balancer); anyone else gets 403. Behind a proxy in TRUSTED_PROXIES, the client's address counts."),
    "PROMETHEUS_MULTIPROC_DIR": ("", "/run/hotline/metrics",
                                 "With several gunicorn workers: an empty folder, writable by them and emptied before "
                                 "each start, where every process writes its metrics so /metrics adds them up "
                                 "(prometheus-client's multiprocess mode; the library reads this variable itself)."),
    "BACKUP_DIR": ("var/backups", "/var/backups/hotline",
                   "Where `hotline backup` (without --to) and the scheduled daily backup write their archives "
                   "(database, recordings, prompts and a manifest; see Operations). On the scheduler leader's host."),
    "BACKUP_KEEP": ("7", "30", "Daily backups kept in BACKUP_DIR: the scheduler makes one when the newest is a day old "
                    "and deletes all but the newest BACKUP_KEEP. 0: no scheduled backups."),
    "CARD_LEVELS": ("standard:0:0,senior:5:1,vip:10:2", "standard:0:0,senior:8:1,vip:15:5",
                    "Member card levels as level:discount percent:queue priority (普通 standard, 高级 senior, VIP vip): "
                    "a spend by card takes the discount off the amount due; a caller of a higher priority is answered "
                    "first (the screen-pop shows it)."),
    "CARD_MAX_AMOUNT_FEN": ("5000000", "2000000",
                            "The largest single top-up, spend, refund or adjustment on a member card, in fen "
                            "(5000000 = 50,000.00 yuan); a bigger amount is refused as a typing mistake."),
    "LOG_LEVEL": ("INFO", "DEBUG", "Logging level. The scheduler's (apscheduler) line for every job run shows only at DEBUG."),
    "HOTLINE_FIXED_NOW": ("", "2026-11-23T02:00:00",
                          "Tests only: a fixed UTC clock for a spawned `hotline-agi` or `hotline` command, so it sees the test's time. "
                          "Never set it in production."),
}


@dataclass(frozen=True)
class CardLevel:
    """What a member card level gives: `discount_percent` off every spend, `queue_priority` (higher first)."""
    discount_percent: int
    queue_priority: int


CARD_LEVEL_NAMES = ("standard", "senior", "vip")


def _card_levels(value: str) -> dict[str, CardLevel]:
    levels: dict[str, CardLevel] = {}
    for part in value.split(","):
        try:
            name, discount, priority = (x.strip() for x in part.split(":"))
            level = CardLevel(int(discount), int(priority))
        except ValueError:
            name, level = "", None
        if name not in CARD_LEVEL_NAMES or level is None or not 0 <= level.discount_percent < 100:
            raise ConfigError(f"CARD_LEVELS={value!r}: {part.strip()!r} is not level:discount percent (0-99):priority "
                              f"with a level of {', '.join(CARD_LEVEL_NAMES)}, e.g. {VARIABLES['CARD_LEVELS'][1]}")
        levels[name] = level
    missing = [n for n in CARD_LEVEL_NAMES if n not in levels]
    if missing:
        raise ConfigError(f"CARD_LEVELS={value!r} lacks {', '.join(missing)}, e.g. {VARIABLES['CARD_LEVELS'][1]}")
    return levels


def _parse_hours(value: str, name: str = "BUSINESS_HOURS") -> tuple[time, time]:
    try:
        start, end = value.split("-")
        h1, m1 = (int(x) for x in start.split(":"))
        h2, m2 = (int(x) for x in end.split(":"))
        return time(h1, m1), time(h2, m2)
    except Exception:  # noqa: BLE001 - any malformed value gets the same clear message
        raise ConfigError(f"{name}={value!r} is not HH:MM-HH:MM, e.g. {VARIABLES[name][1]}") from None


def _quiet_hours(value: str) -> tuple[time, time] | None:
    return _parse_hours(value, "QUIET_HOURS") if value else None


def _positive(name: str, value: str, most: int) -> int:
    n = _int(name, value)
    if not 1 <= n <= most:
        raise ConfigError(f"{name}={value!r} must be from 1 to {most}, e.g. {VARIABLES[name][1]}")
    return n


def _int(name: str, value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise ConfigError(f"{name}={value!r} is not a whole number, e.g. {VARIABLES[name][1]}") from None


RECEIPT_MODES = ("push", "poll", "both")


def _choice(name: str, value: str, choices: tuple[str, ...]) -> str:
    value = value.lower()
    if value not in choices:
        raise ConfigError(f"{name}={value!r} is not one of {', '.join(choices)}, e.g. {VARIABLES[name][1]}")
    return value


def _horizon(value: str) -> int:
    days = _int("BOOKING_HORIZON_DAYS", value)
    if not 1 <= days <= 366:
        raise ConfigError(f"BOOKING_HORIZON_DAYS={value!r} must be from 1 to 366 days, e.g. 90")
    return days


def _hour(value: str) -> int:
    hour = _int("REMINDER_HOUR", value)
    if not 0 <= hour <= 23:
        raise ConfigError(f"REMINDER_HOUR={value!r} must be an hour from 0 to 23, e.g. 18")
    return hour


def _at_least_one(name: str, value: str) -> int:
    number = _int(name, value)
    if number < 1:
        raise ConfigError(f"{name}={value!r} must be 1 or more, e.g. {VARIABLES[name][1]}")
    return number


def _outbound_voice(get) -> str:
    """OUTBOUND_VOICE, or the backend the other settings imply."""
    twilio = ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_NUMBER", "PUBLIC_BASE_URL")
    value = get("OUTBOUND_VOICE").lower()
    if not value:
        value = "asterisk" if get("AMI_URL") else "twilio" if all(get(n) for n in twilio) else "off"
    if value not in ("asterisk", "twilio", "off"):
        raise ConfigError(f"OUTBOUND_VOICE={value!r} is not one of asterisk, twilio, off")
    if value == "asterisk" and not get("AMI_URL"):
        raise ConfigError("OUTBOUND_VOICE=asterisk places calls over AMI: set AMI_URL, e.g. " + VARIABLES["AMI_URL"][1])
    if value == "twilio" and not all(get(n) for n in twilio):
        raise ConfigError("OUTBOUND_VOICE=twilio needs " + ", ".join(n for n in twilio if not get(n)))
    if "{number}" not in get("OUTBOUND_TRUNK"):
        raise ConfigError(f"OUTBOUND_TRUNK={get('OUTBOUND_TRUNK')!r} must contain {{number}}, e.g. PJSIP/{{number}}@carrier")
    return value


def _self_service_minutes(value: str) -> int:
    minutes = _int("SELF_SERVICE_MINUTES", value)
    if not 1 <= minutes <= 120:
        raise ConfigError(f"SELF_SERVICE_MINUTES={value!r} must be from 1 to 120 minutes, e.g. 15")
    return minutes


def _fixed_now(value: str) -> datetime | None:
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"HOTLINE_FIXED_NOW={value!r} is not an ISO time, e.g. 2026-11-23T02:00:00") from None
    # Naive UTC like every stored time; an explicit offset is converted first.
    return when.astimezone(timezone.utc).replace(tzinfo=None) if when.tzinfo else when


def parse_networks(entries, variable: str) -> tuple:
    """Addresses or CIDR networks -> ip_network objects; a bad entry names the variable."""
    nets = []
    for entry in entries:
        try:
            nets.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            raise ConfigError(f"{variable}: {entry!r} is not an address or a network, "
                              f"e.g. {VARIABLES[variable][1]}") from None
    return tuple(nets)


def in_networks(address: str, networks: tuple) -> bool:
    """Whether `address` (IPv4, IPv6, IPv4-mapped IPv6, with or without a zone) is in one of `networks`."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip.version == net.version and ip in net for net in networks)


def _hostport(name: str, value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(f"{name}={value!r} is not HOST:PORT, e.g. {VARIABLES[name][1]}")
    return host.strip("[]"), int(port)


MAINLAND_PROVIDERS = ("aliyun", "tencent")
OUTBOUND_PROVIDERS = ("twilio", "console") + MAINLAND_PROVIDERS
_PERIODS = {"s": 1, "min": 60, "h": 3600, "day": 86400}


def _templates(name: str, value: str) -> dict[str, str]:
    """`kind=code,kind=code` -> {kind: code}."""
    out = {}
    for pair in (p.strip() for p in value.split(",") if p.strip()):
        kind, sep, code = (x.strip() for x in pair.partition("="))
        if not (sep and kind and code):
            raise ConfigError(f"{name}: {pair!r} is not kind=code, e.g. {VARIABLES[name][1]}")
        out[kind] = code
    return out


def _limits(name: str, value: str) -> tuple[tuple[int, int], ...]:
    """`1/min,5/h,10/day` -> ((1, 60), (5, 3600), (10, 86400)): (count, seconds) pairs."""
    out = []
    for item in (p.strip() for p in value.split(",") if p.strip()):
        count, _, period = item.partition("/")
        digits = period.rstrip("abcdefghijklmnopqrstuvwxyz")
        unit = period[len(digits):]
        if not (count.isdigit() and int(count) > 0 and unit in _PERIODS and (digits.isdigit() or not digits)):
            raise ConfigError(f"{name}: {item!r} is not count/period (period s, min, h or day), "
                              f"e.g. {VARIABLES[name][1]}")
        out.append((int(count), int(digits or 1) * _PERIODS[unit]))
    return tuple(out)


def _providers(value: str, twilio_set: bool) -> tuple[str, ...]:
    names = tuple(p.strip().lower() for p in value.split(",") if p.strip())
    if not names:
        return ("twilio",) if twilio_set else ("console",)
    bad = [n for n in names if n not in OUTBOUND_PROVIDERS]
    if bad or len(set(names)) != len(names) or (len(names) > 1 and set(names) - set(MAINLAND_PROVIDERS)):
        raise ConfigError(f"SMS_PROVIDER={value!r}: one of twilio, console, or aliyun and/or tencent in failover "
                          "order, e.g. SMS_PROVIDER=aliyun,tencent")
    return names


@dataclass(frozen=True)
class MainlandProvider:
    """One mainland provider's account, signature, templates and limits."""
    name: str
    key_id: str
    secret: str
    sign_name: str
    endpoint: str
    templates: dict
    limits: tuple               # (count, seconds) per number
    per_second: int
    region: str = ""
    app_id: str = ""            # Tencent's SmsSdkAppId
    scheme: str = "https"


def _mainland(get) -> dict[str, MainlandProvider]:
    scheme = get("SMS_PROVIDER_HTTP").lower()
    if scheme not in ("http", "https"):
        raise ConfigError(f"SMS_PROVIDER_HTTP={scheme!r} is not http or https, e.g. https")
    return {
        "aliyun": MainlandProvider(
            "aliyun", get("ALIYUN_SMS_ACCESS_KEY_ID"), get("ALIYUN_SMS_ACCESS_KEY_SECRET"), get("ALIYUN_SMS_SIGN_NAME"),
            get("ALIYUN_SMS_ENDPOINT"), _templates("ALIYUN_SMS_TEMPLATES", get("ALIYUN_SMS_TEMPLATES")),
            _limits("ALIYUN_SMS_LIMITS", get("ALIYUN_SMS_LIMITS")),
            _int("ALIYUN_SMS_PER_SECOND", get("ALIYUN_SMS_PER_SECOND")), scheme=scheme),
        "tencent": MainlandProvider(
            "tencent", get("TENCENT_SMS_SECRET_ID"), get("TENCENT_SMS_SECRET_KEY"), get("TENCENT_SMS_SIGN_NAME"),
            get("TENCENT_SMS_ENDPOINT"), _templates("TENCENT_SMS_TEMPLATES", get("TENCENT_SMS_TEMPLATES")),
            _limits("TENCENT_SMS_LIMITS", get("TENCENT_SMS_LIMITS")),
            _int("TENCENT_SMS_PER_SECOND", get("TENCENT_SMS_PER_SECOND")), region=get("TENCENT_SMS_REGION"),
            app_id=get("TENCENT_SMS_SDK_APP_ID"), scheme=scheme),
    }


@dataclass(frozen=True)
class Settings:
    database_url: str
    redis_url: str
    secret_key: str
    timezone: ZoneInfo
    demo: bool
    web_bind: tuple[str, int]
    web_threads: int
    stream_slots: int
    stream_max_seconds: int
    fastagi_bind: tuple[str, int]
    fastagi_allow: tuple[str, ...]
    fastagi_max_calls: int
    ami_url: str
    public_base_url: str
    twilio_account_sid: str
    twilio_auth_token: str
    twilio_number: str
    twilio_insecure_dev: bool
    sms_provider: str
    sms_callback_token: str
    business_hours: tuple[time, time]
    accept_deadline_minutes: int
    complaint_due_hours: int
    complaint_max_refund_fen: int
    prompts_dir: Path
    recordings_dir: Path
    log_level: str
    extra: dict = field(default_factory=dict)
    fixed_now: datetime | None = None
    twilio_api_key: str = ""
    twilio_api_secret: str = ""
    twilio_twiml_app_sid: str = ""
    twilio_voice_sdk_url: str = ""
    wrap_up_seconds: int = 10
    booking_horizon_days: int = 90
    trusted_proxies: tuple = ()       # ip_network objects
    sms_providers: tuple = ("console",)   # failover order; sms_provider is the first
    mainland: dict = field(default_factory=dict)   # name -> MainlandProvider
    # Follow-through (tickets.followup): quiet hours (local start, end) or None, reminders, urging.
    quiet_hours: tuple[time, time] | None = (time(21, 0), time(8, 0))
    reminder_hour: int = 18
    urge_start_grace_minutes: int = 15
    service_expected_minutes: int = 180
    urge_every_minutes: int = 30
    escalate_after_urgings: int = 3
    escalate_after_minutes: int = 120
    queue_log_path: str = ""
    service_level_seconds: int = 20
    short_abandon_seconds: int = 5
    survey_resend_hours: int = 24
    survey_call_after_hours: int = 24
    survey_call_attempts: int = 3
    survey_retry_minutes: int = 120
    outbound_voice: str = "off"
    outbound_trunk: str = "PJSIP/{number}@carrier"
    outbound_caller_id: str = ""
    outbound_max_channels: int = 4
    callback_attempts: int = 3
    callback_retry_minutes: int = 30
    self_service_minutes: int = 15
    metrics_allow: tuple = ()         # ip_network objects
    prometheus_multiproc_dir: str = ""
    backup_dir: Path = Path("var/backups")
    backup_keep: int = 7
    card_levels: dict = field(default_factory=lambda: _card_levels(VARIABLES["CARD_LEVELS"][0]))
    card_max_amount_fen: int = 5000000
    sms_receipts: str = "both"
    sms_receipt_poll_seconds: int = 300


def load_settings(env: dict | None = None, **overrides) -> Settings:
    """Read settings from `env` (default: os.environ); keyword overrides win."""
    src = dict(os.environ if env is None else env)
    src.update({k.upper(): str(v) for k, v in overrides.items()})

    def get(name: str) -> str:
        return src.get(name, VARIABLES[name][0]).strip()

    tzname = get("TIMEZONE")
    try:
        tz = ZoneInfo(tzname)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"TIMEZONE={tzname!r} is not an IANA zone, e.g. Asia/Shanghai") from None
    providers = _providers(get("SMS_PROVIDER"), bool(get("TWILIO_ACCOUNT_SID") and get("TWILIO_AUTH_TOKEN")))
    return Settings(
        database_url=get("DATABASE_URL"),
        redis_url=get("REDIS_URL"),
        secret_key=get("SECRET_KEY"),
        timezone=tz,
        demo=get("HOTLINE_DEMO") in ("1", "true", "yes"),
        web_bind=_hostport("WEB_BIND", get("WEB_BIND")),
        web_threads=_int("WEB_THREADS", get("WEB_THREADS")),
        stream_slots=_int("STREAM_SLOTS", get("STREAM_SLOTS")),
        stream_max_seconds=_int("STREAM_MAX_SECONDS", get("STREAM_MAX_SECONDS")),
        fastagi_bind=_hostport("FASTAGI_BIND", get("FASTAGI_BIND")),
        fastagi_allow=tuple(p.strip() for p in get("FASTAGI_ALLOW").split(",") if p.strip()),
        fastagi_max_calls=_int("FASTAGI_MAX_CALLS", get("FASTAGI_MAX_CALLS")),
        ami_url=get("AMI_URL"),
        public_base_url=get("PUBLIC_BASE_URL").rstrip("/"),
        twilio_account_sid=get("TWILIO_ACCOUNT_SID"),
        twilio_auth_token=get("TWILIO_AUTH_TOKEN"),
        twilio_number=get("TWILIO_NUMBER"),
        twilio_insecure_dev=get("TWILIO_INSECURE_DEV") in ("1", "true", "yes"),
        sms_provider=providers[0],
        sms_providers=providers,
        mainland=_mainland(get),
        sms_callback_token=get("SMS_CALLBACK_TOKEN"),
        sms_receipts=_choice("SMS_RECEIPTS", get("SMS_RECEIPTS"), RECEIPT_MODES),
        sms_receipt_poll_seconds=_positive("SMS_RECEIPT_POLL_SECONDS", get("SMS_RECEIPT_POLL_SECONDS"), 24 * 3600),
        business_hours=_parse_hours(get("BUSINESS_HOURS")),
        accept_deadline_minutes=_int("ACCEPT_DEADLINE_MINUTES", get("ACCEPT_DEADLINE_MINUTES")),
        complaint_due_hours=_at_least_one("COMPLAINT_DUE_HOURS", get("COMPLAINT_DUE_HOURS")),
        complaint_max_refund_fen=_at_least_one("COMPLAINT_MAX_REFUND_YUAN", get("COMPLAINT_MAX_REFUND_YUAN")) * 100,
        prompts_dir=Path(get("PROMPTS_DIR")),
        recordings_dir=Path(get("RECORDINGS_DIR")),
        log_level=get("LOG_LEVEL").upper(),
        fixed_now=_fixed_now(get("HOTLINE_FIXED_NOW")),
        twilio_api_key=get("TWILIO_API_KEY"),
        twilio_api_secret=get("TWILIO_API_SECRET"),
        twilio_twiml_app_sid=get("TWILIO_TWIML_APP_SID"),
        twilio_voice_sdk_url=get("TWILIO_VOICE_SDK_URL"),
        wrap_up_seconds=_int("WRAP_UP_SECONDS", get("WRAP_UP_SECONDS")),
        booking_horizon_days=_horizon(get("BOOKING_HORIZON_DAYS")),
        queue_log_path=get("QUEUE_LOG_PATH"),
        service_level_seconds=_int("SERVICE_LEVEL_SECONDS", get("SERVICE_LEVEL_SECONDS")),
        short_abandon_seconds=_int("SHORT_ABANDON_SECONDS", get("SHORT_ABANDON_SECONDS")),
        survey_resend_hours=_int("SURVEY_RESEND_HOURS", get("SURVEY_RESEND_HOURS")),
        survey_call_after_hours=_int("SURVEY_CALL_AFTER_HOURS", get("SURVEY_CALL_AFTER_HOURS")),
        survey_call_attempts=_int("SURVEY_CALL_ATTEMPTS", get("SURVEY_CALL_ATTEMPTS")),
        survey_retry_minutes=_int("SURVEY_RETRY_MINUTES", get("SURVEY_RETRY_MINUTES")),
        outbound_voice=_outbound_voice(get),
        outbound_trunk=get("OUTBOUND_TRUNK"),
        outbound_caller_id=get("OUTBOUND_CALLER_ID"),
        outbound_max_channels=_positive("OUTBOUND_MAX_CHANNELS", get("OUTBOUND_MAX_CHANNELS"), 500),
        callback_attempts=_int("CALLBACK_ATTEMPTS", get("CALLBACK_ATTEMPTS")),
        callback_retry_minutes=_int("CALLBACK_RETRY_MINUTES", get("CALLBACK_RETRY_MINUTES")),
        metrics_allow=parse_networks((p for p in get("METRICS_ALLOW").split(",") if p.strip()), "METRICS_ALLOW"),
        prometheus_multiproc_dir=get("PROMETHEUS_MULTIPROC_DIR"),
        backup_dir=Path(get("BACKUP_DIR")),
        backup_keep=_int("BACKUP_KEEP", get("BACKUP_KEEP")),
        card_levels=_card_levels(get("CARD_LEVELS")),
        card_max_amount_fen=_int("CARD_MAX_AMOUNT_FEN", get("CARD_MAX_AMOUNT_FEN")),
        trusted_proxies=parse_networks((p for p in get("TRUSTED_PROXIES").split(",") if p.strip()), "TRUSTED_PROXIES"),
        quiet_hours=_quiet_hours(get("QUIET_HOURS")),
        reminder_hour=_hour(get("REMINDER_HOUR")),
        urge_start_grace_minutes=_positive("URGE_START_GRACE_MINUTES", get("URGE_START_GRACE_MINUTES"), 24 * 60),
        service_expected_minutes=_positive("SERVICE_EXPECTED_MINUTES", get("SERVICE_EXPECTED_MINUTES"), 24 * 60),
        urge_every_minutes=_positive("URGE_EVERY_MINUTES", get("URGE_EVERY_MINUTES"), 24 * 60),
        escalate_after_urgings=_positive("ESCALATE_AFTER_URGINGS", get("ESCALATE_AFTER_URGINGS"), 100),
        escalate_after_minutes=_positive("ESCALATE_AFTER_MINUTES", get("ESCALATE_AFTER_MINUTES"), 7 * 24 * 60),
        self_service_minutes=_self_service_minutes(get("SELF_SERVICE_MINUTES")),
    )
