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
    "SMS_PROVIDER": ("", "twilio", "Outbound SMS provider: `twilio`, or `console` (stores and logs only). Default: twilio when credentials are set, else console."),
    "BUSINESS_HOURS": ("08:00-20:00", "09:00-18:00",
                       "When agents answer (local time); statutory holidays are closed. Also the working hours of a "
                       "franchisee that has none of its own (admin, franchisee page): accept deadlines count only "
                       "working minutes."),
    "BOOKING_HORIZON_DAYS": ("90", "60", "How many days ahead (from today, local) a service may be booked, by every "
                             "channel: voice menu, SMS, console, Twilio."),
    "ACCEPT_DEADLINE_MINUTES": ("30", "60",
                                "Working minutes a franchisee has to accept a dispatched order before it goes to the "
                                "next one (派工时限), counted in its working hours: dispatched at 23:38 to a franchisee "
                                "open 08:00-20:00, it is due at 08:30."),
    "COMPLAINT_DUE_HOURS": ("48", "24", "Time allowed to answer a complaint."),
    "WRAP_UP_SECONDS": ("10", "30", "Twilio softphone: seconds after an agent's call ends before the next caller may be offered "
                        "to them, wrap-up form saved or not (as `wrapuptime` in queues.conf does on Asterisk). "
                        "0: they stay in wrap-up until they save it or choose a presence."),
    "PROMPTS_DIR": ("asterisk_conf/sounds", "/var/lib/asterisk/sounds/hotline", "Where `hotline prompts build` writes the voice prompts."),
    "RECORDINGS_DIR": ("var/recordings", "/var/spool/hotline",
                       "Where voice notes recorded by the IVR are kept. Made by the FastAGI server at start-up and "
                       "before each recording (Asterisk's RECORD FILE makes no folder); it must be writable by the "
                       "user Asterisk runs as."),
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


def _parse_hours(value: str) -> tuple[time, time]:
    try:
        start, end = value.split("-")
        h1, m1 = (int(x) for x in start.split(":"))
        h2, m2 = (int(x) for x in end.split(":"))
        return time(h1, m1), time(h2, m2)
    except Exception:  # noqa: BLE001 - any malformed value gets the same clear message
        raise ConfigError(f"BUSINESS_HOURS={value!r} is not HH:MM-HH:MM, e.g. 08:00-20:00") from None


def _int(name: str, value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise ConfigError(f"{name}={value!r} is not a whole number, e.g. {VARIABLES[name][1]}") from None


def _horizon(value: str) -> int:
    days = _int("BOOKING_HORIZON_DAYS", value)
    if not 1 <= days <= 366:
        raise ConfigError(f"BOOKING_HORIZON_DAYS={value!r} must be from 1 to 366 days, e.g. 90")
    return days


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
    card_levels: dict = field(default_factory=lambda: _card_levels(VARIABLES["CARD_LEVELS"][0]))
    card_max_amount_fen: int = 5000000


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
    provider = get("SMS_PROVIDER").lower()
    if not provider:
        provider = "twilio" if get("TWILIO_ACCOUNT_SID") and get("TWILIO_AUTH_TOKEN") else "console"
    if provider not in ("twilio", "console"):
        raise ConfigError(f"SMS_PROVIDER={provider!r} is not one of twilio, console")
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
        sms_provider=provider,
        sms_callback_token=get("SMS_CALLBACK_TOKEN"),
        business_hours=_parse_hours(get("BUSINESS_HOURS")),
        accept_deadline_minutes=_int("ACCEPT_DEADLINE_MINUTES", get("ACCEPT_DEADLINE_MINUTES")),
        complaint_due_hours=_int("COMPLAINT_DUE_HOURS", get("COMPLAINT_DUE_HOURS")),
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
        card_levels=_card_levels(get("CARD_LEVELS")),
        card_max_amount_fen=_int("CARD_MAX_AMOUNT_FEN", get("CARD_MAX_AMOUNT_FEN")),
        trusted_proxies=parse_networks((p for p in get("TRUSTED_PROXIES").split(",") if p.strip()), "TRUSTED_PROXIES"),
    )
