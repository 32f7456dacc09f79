"""The `hotline` command. Other packages add subcommands and services through entry points."""
from __future__ import annotations

import argparse
import errno
import gc
import getpass
import json
import logging
import os
import secrets
import signal
import sys
import threading
from importlib.metadata import entry_points
from pathlib import Path

from sqlalchemy import make_url, select
from sqlalchemy.exc import SQLAlchemyError

from . import holidays
from .config import ConfigError, load_settings
from .context import Hotline, create_hotline
from .db import make_engine
from .errors import DuplicateBooking, HotlineError
from .timeutil import to_local, utcnow

log = logging.getLogger("hotline")

DEMO_LOGINS = ["agent1", "agent2", "dispatcher1", "manager1", "callback1", "supervisor1", "admin",
               "franchisee1", "franchisee2"]


def settle_heap() -> None:
    """Take what is alive once a server is up (modules, mappers, compiled statements, the app)
    out of the garbage collector's sight.

    A full collection walks every tracked object: about 95,000 in a web process, 50 ms of one
    core on this hardware, taken in the middle of whichever request triggered it (it was the
    slowest 1% of a webhook run at 100 requests a second). `gc.freeze()` moves them to a
    generation no collection visits; what requests allocate is collected as before. Also what
    a pre-forking server wants before it forks: the frozen pages stay shared.
    """
    gc.collect()
    gc.freeze()


def wait_for_stop() -> None:
    """Settle the heap (see settle_heap), then block until SIGINT or SIGTERM."""
    settle_heap()
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()


def setup_logging(level: str = "INFO") -> None:
    """Log to stderr at `level` (LOG_LEVEL); apscheduler's chatter only at DEBUG."""
    numeric = getattr(logging, level, logging.INFO)
    logging.basicConfig(level=numeric, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # apscheduler logs two INFO lines for every run of every job, and the watchdog runs every
    # few seconds: they were most of a demo's log. Its warnings (a missed or failed run) still show.
    logging.getLogger("apscheduler").setLevel(logging.NOTSET if numeric <= logging.DEBUG else logging.WARNING)


def make_hotline(args) -> Hotline:
    overrides = {}
    if getattr(args, "demo", False):
        overrides["HOTLINE_DEMO"] = "1"
    settings = load_settings(**overrides)
    fixed = settings.fixed_now
    return create_hotline(settings, **({"clock": lambda: fixed} if fixed else {}))


def calendar_warning(hl: Hotline) -> str | None:
    """The holiday calendar's coverage warning (tickets.holidays), for start-up and `hotline config`.
    A database not initialised yet has no overrides: the package alone is checked."""
    try:
        with hl.session() as s:
            return holidays.coverage_warning(s)
    except SQLAlchemyError:
        return holidays.uncovered_warning(holidays.Calendar({}), to_local(hl.now(), hl.tz).date())


# ---------------------------------------------------------------- init

def init_database(hl: Hotline, demo: bool) -> dict:
    """Create or upgrade the schema, load reference data, and the demo city when asked."""
    from .migrate import upgrade
    from .seed import load_demo, load_reference
    upgrade(hl.engine)
    with hl.session() as s, s.begin():
        load_reference(s)
    summary = {"schema": "up to date"}
    if demo:
        from .demo_calls import load_demo_calls
        from .demo_history import load_demo_history
        with hl.session() as s, s.begin():
            summary.update(load_demo(s))
        with hl.session() as s, s.begin():
            summary.update(load_demo_history(s))
        with hl.session() as s, s.begin():
            summary.update(load_demo_calls(s))
    return summary


def cmd_init(args) -> int:
    hl = make_hotline(args)
    summary = init_database(hl, args.demo)
    log.info("database ready at %s: %s", hl.engine.url.render_as_string(hide_password=True), summary)
    return 0


def cmd_backup(args) -> int:
    from .backup import create_backup
    hl = make_hotline(args)
    try:
        print(create_backup(hl, args.to or hl.settings.backup_dir))
    finally:
        hl.close()
    return 0


def cmd_restore(args) -> int:
    from .backup import restore_backup
    hl = make_hotline(args)
    try:
        done = restore_backup(hl, args.file)
    finally:
        hl.close()
    print(f"restored {args.file}: schema {done.schema_from} -> {done.schema_to}, "
          f"{sum(done.rows.values())} rows in {len(done.rows)} tables, {done.files} files")
    return 0


# ---------------------------------------------------------------- orders

def cmd_order_create(args) -> int:
    from . import orders
    from .actors import Actor
    hl = make_hotline(args)
    with hl.session() as s, s.begin():
        try:
            order = orders.book(s, phone=args.phone, service=args.service,
                                start=orders.parse_when(args.when, hl.tz, today=to_local(hl.now(), hl.tz).date()),
                                address=args.address, channel=args.channel, quantity=args.quantity,
                                urgent=True if args.urgent else None, name=args.name or "",
                                allow_duplicate=args.allow_duplicate,
                                actor=Actor(role="agent", label="cli"))
        except DuplicateBooking as exc:
            raise HotlineError(f"{exc} (--allow-duplicate)") from None
        out = orders.to_dict(order, hl.tz)
    print(json.dumps(out, ensure_ascii=False, indent=2))
    return 0


def cmd_order_show(args) -> int:
    from . import orders
    hl = make_hotline(args)
    with hl.session() as s:
        out = orders.to_dict(orders.get(s, args.number), hl.tz, history=True)
    print(json.dumps(out, ensure_ascii=False, indent=2))
    return 0


def cmd_dispatch_batch(args) -> int:
    from .dispatch import batch_dispatch, unassigned_queue
    hl = make_hotline(args)
    with hl.session() as s, s.begin():
        result = batch_dispatch(s, [o for o in unassigned_queue(s) if o.status == "confirmed"])
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return 0


def cmd_simulate_day(args) -> int:
    from datetime import date, timedelta

    from .simulation import simulate_day
    if not 1 <= args.step <= 240:
        raise HotlineError("--step {step} must be from 1 to 240 minutes, e.g. --step 5", step=args.step)
    settings = load_settings(SMS_PROVIDER="console")     # a simulated day sends nothing for real
    fixed = settings.fixed_now
    hl = create_hotline(settings, **({"clock": lambda: fixed} if fixed else {}))
    try:
        if args.date:
            try:
                day = date.fromisoformat(args.date)
            except ValueError:
                raise HotlineError("--date {date!r} is not a date, e.g. --date 2026-11-24", date=args.date) from None
        else:
            day = to_local(hl.now(), hl.tz).date() + timedelta(days=1)
        try:
            simulate_day(hl, day, timedelta(minutes=args.step))
        except RuntimeError as exc:
            raise HotlineError(str(exc)) from None
    finally:
        hl.close()
    return 0


# ---------------------------------------------------------------- users

def cmd_user_add(args) -> int:
    from .models import ROLES, Franchisee, User
    from .passwords import hash_password
    if args.role not in ROLES:
        raise HotlineError(f"role {args.role!r} is not one of {', '.join(ROLES)}")
    password = os.environ.get("HOTLINE_NEW_PASSWORD") or getpass.getpass(f"password for {args.username}: ")
    if len(password) < 10:
        raise HotlineError("a password needs at least 10 characters")
    hl = make_hotline(args)
    with hl.session() as s, s.begin():
        fr_id = None
        if args.role == "franchisee":
            fr = s.scalar(select(Franchisee).where(Franchisee.name == args.franchisee))
            if fr is None:
                raise HotlineError("a franchisee user needs --franchisee NAME of an existing franchisee")
            fr_id = fr.id
        s.add(User(username=args.username, display_name=args.username, role=args.role,
                   password_hash=hash_password(password), franchisee_id=fr_id))
    log.info("user %s (%s) added", args.username, args.role)
    return 0


# ---------------------------------------------------------------- run

def refuse_demo_passwords_in_production(hl: Hotline) -> None:
    from .models import User
    from .passwords import DEMO_PASSWORD, verify_password
    if hl.settings.demo:
        return
    if not hl.settings.secret_key:
        raise ConfigError("SECRET_KEY is not set; production needs a long random value, "
                          "e.g. SECRET_KEY=$(python -c 'import secrets; print(secrets.token_hex(32))'), "
                          "or start the demo with `hotline run --demo`")
    with hl.session() as s:
        weak = [u.username for u in s.scalars(select(User).where(User.active))
                if u.is_demo or verify_password(u.password_hash, DEMO_PASSWORD)]
    if weak:
        raise ConfigError(f"users with the demo password exist ({', '.join(weak)}); this is not demo mode, "
                          "so Hotline refuses to start. Change their passwords or deactivate them, "
                          "or run the demo with `hotline run --demo`")


def load_services(hl: Hotline, only: set[str] | None = None) -> list:
    services = []
    for ep in entry_points(group="hotline.services"):
        if only is not None and ep.name not in only:
            continue
        try:
            factory = ep.load()
        except ImportError as exc:
            log.warning("service %s is not available: %s", ep.name, exc)
            continue
        services.append(factory(hl))
    return services


def twilio_security(settings) -> str:
    """How Twilio webhooks are checked, for the start-up banner."""
    if settings.twilio_auth_token:
        return "Twilio requests are checked against X-Twilio-Signature"
    if settings.twilio_insecure_dev:
        return "WARNING: TWILIO_AUTH_TOKEN is not set and TWILIO_INSECURE_DEV=1: unsigned Twilio requests are accepted"
    return "TWILIO_AUTH_TOKEN is not set: Twilio requests are refused (403)"


def demo_environment(environ) -> None:
    """What `run --demo` sets unless the operator did: demo mode, a session key, and, with no
    Twilio auth token, acceptance of unsigned Twilio webhooks (the demo's `hotline simulate-sms`
    in another shell has no token to sign with; the banner says so)."""
    environ["HOTLINE_DEMO"] = "1"
    environ.setdefault("SECRET_KEY", secrets.token_hex(32))
    if not environ.get("TWILIO_AUTH_TOKEN"):
        environ.setdefault("TWILIO_INSECURE_DEV", "1")


def cannot_listen(hl: Hotline, svc, exc: OSError) -> str:
    """One line for a service that cannot open its port, naming the variable that sets it."""
    name = getattr(svc, "bind_setting", None)
    if name is None:
        return f"{type(svc).__name__} cannot start: {exc.strerror or exc}"
    host, port = getattr(hl.settings, name.lower())
    why = "is already in use (another hotline or program listens there)" if exc.errno == errno.EADDRINUSE \
        else f"cannot be opened: {exc.strerror or exc}"
    return (f"{name}={host}:{port} {why}; choose another port, e.g. "
            f"{name}={host}:{port + 1} ./scripts/run.sh (and the same {name} in the second terminal)")


def cmd_run(args) -> int:
    if args.demo:
        demo_environment(os.environ)
    hl = make_hotline(args)
    init_database(hl, args.demo)
    refuse_demo_passwords_in_production(hl)
    warning = calendar_warning(hl)
    if warning:
        log.warning(warning)
    from .scheduler import Scheduler
    only = set(args.only.split(",")) if args.only else None
    services = load_services(hl, only)
    if only is None or "scheduler" in only:
        services.append(Scheduler(hl))
    started: list = []
    for svc in services:
        try:
            svc.start()
        except OSError as exc:
            for done in reversed(started):
                done.stop()
            hl.close()
            raise ConfigError(cannot_listen(hl, svc, exc)) from None
        started.append(svc)
    lines = ["", "Hotline is running."]
    for svc in services:
        lines += ["  " + line for line in svc.describe()]
    lines.append("  webhooks: " + twilio_security(hl.settings))
    if hl.settings.demo:
        lines += ["", "Demo logins (password: demo): " + ", ".join(DEMO_LOGINS),
                  "Demo call:  hotline simulate-call 13800138000 --keys \"1 1 1 2 1 1 1\"",
                  "Demo SMS:   hotline simulate-sms 13800138000 \"BJ 明天上午\""]
    lines.append("Stop with Ctrl-C.")
    log.info("\n".join(lines))
    wait_for_stop()
    log.info("stopping")
    for svc in reversed(services):
        try:
            svc.stop()
        except Exception:  # noqa: BLE001 - stop the rest anyway
            log.exception("stopping %s failed", svc)
    hl.close()
    return 0


# ---------------------------------------------------------------- config

def config_table() -> str:
    """The environment variables as a Markdown table (the README embeds it)."""
    from .config import VARIABLES
    rows = ["| variable | default | example | what it does |", "|---|---|---|---|"]
    for name, (default, example, doc) in VARIABLES.items():
        rows.append(f"| `{name}` | {f'`{default}`' if default else '(empty)'} | `{example}` | {doc} |")
    return "\n".join(rows)


def cmd_config(args) -> int:
    if args.markdown:
        print(config_table())
        return 0
    settings = load_settings()
    from .config import VARIABLES
    for name in VARIABLES:
        value = os.environ.get(name)
        secret = "TOKEN" in name or "SECRET" in name
        shown = "(set)" if secret and value else (value if value is not None else f"{VARIABLES[name][0]!r} (default)")
        print(f"{name}={shown}")
    log.debug("settings parsed: %s", settings.database_url)
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and not Path(url.database or "").is_file():
        # No database yet (and none created by looking): the package alone is checked, and the
        # plugins' own checks (sms: a template for every notice kind) run as they install, on an
        # in-memory engine that is never used.
        Hotline(settings, engine=make_engine("sqlite://")).load_plugins().close()
        fixed = settings.fixed_now
        today = to_local(fixed or utcnow(), settings.timezone).date()
        warning = holidays.uncovered_warning(holidays.Calendar({}), today)
    else:
        hl = make_hotline(args)
        try:
            warning = calendar_warning(hl)
        finally:
            hl.close()
    if warning:
        print(f"\nWARNING: {warning}")
    return 0


# ---------------------------------------------------------------- parser

def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="hotline", description="Hotline: the home-services alliance contact center. "
                                "Configuration comes from environment variables (see README).")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    sp = sub.add_parser("init", help="create or upgrade the database schema; --demo loads the demo city")
    sp.add_argument("--demo", action="store_true", help="also load the demo city (idempotent)")
    sp.set_defaults(func=cmd_init)

    sp = sub.add_parser("run", help="start everything in one process: console, FastAGI, bus, scheduler")
    sp.add_argument("--demo", action="store_true", help="demo mode: migrate, load the demo city, demo logins")
    sp.add_argument("--only", help="comma-separated services to start: web, fastagi, scheduler; default all")
    sp.set_defaults(func=cmd_run)

    sp = sub.add_parser("backup", help="write a backup archive (database, recordings, prompts, manifest) "
                        "while the hotline runs")
    sp.add_argument("--to", help="folder for the archive; default BACKUP_DIR")
    sp.set_defaults(func=cmd_backup)

    sp = sub.add_parser("restore", help="replace the database, recordings and prompts with a backup archive's "
                        "(stop the hotline first); an older schema is migrated")
    sp.add_argument("file", help="the archive, hotline-backup-....tar")
    sp.set_defaults(func=cmd_restore)

    order = sub.add_parser("order", help="create or show work orders").add_subparsers(dest="order_cmd", metavar="ACTION")
    sp = order.add_parser("create", help="book, price and dispatch an order; prints it as JSON")
    sp.add_argument("--phone", required=True, help="customer's number, e.g. 13800138000")
    sp.add_argument("--service", required=True, help="service code, e.g. BJ (home cleaning)")
    sp.add_argument("--when", required=True, help='local start time "YYYY-MM-DD HH:MM", or "today|tomorrow HH:MM"')
    sp.add_argument("--address", help="free-text address; default: the customer's default address")
    sp.add_argument("--channel", default="agent", help="ivr, agent, sms, online, twilio (default agent)")
    sp.add_argument("--quantity", type=int, help="units (hours, visits...); default: the service's usual")
    sp.add_argument("--name", help="customer's name, for a new customer")
    sp.add_argument("--urgent", action="store_true", help="mark as an emergency")
    sp.add_argument("--allow-duplicate", action="store_true",
                    help="book even when the phone already has this service at this time (the customer wants two)")
    sp.set_defaults(func=cmd_order_create)
    sp = order.add_parser("show", help="one work order with its full history, as JSON")
    sp.add_argument("number")
    sp.set_defaults(func=cmd_order_show)

    sp = sub.add_parser("dispatch", help="batch-dispatch every confirmed order waiting for a franchisee")
    sp.set_defaults(func=cmd_dispatch_batch)

    sp = sub.add_parser("simulate-day", help="run every scheduler job over one day on a fixed clock and print what "
                        "was sent (reminders, urgings, escalations...); writes to the database, SMS to the console only")
    sp.add_argument("--date", help="the local day to simulate, YYYY-MM-DD; default tomorrow")
    sp.add_argument("--step", type=int, default=5, help="minutes between two runs of the jobs (default 5)")
    sp.set_defaults(func=cmd_simulate_day)

    sp = sub.add_parser("user", help="manage console users").add_subparsers(dest="user_cmd", metavar="ACTION")
    up = sp.add_parser("add", help="add a user (password from HOTLINE_NEW_PASSWORD or asked)")
    up.add_argument("username")
    up.add_argument("--role", required=True)
    up.add_argument("--franchisee", help="franchisee name, for role franchisee")
    up.set_defaults(func=cmd_user_add)

    sp = sub.add_parser("config", help="check and show the configuration (environment variables)")
    sp.add_argument("--markdown", action="store_true", help="print the documented variables as a Markdown table")
    sp.set_defaults(func=cmd_config)

    from .call_commands import register as register_call_commands
    from .report_cli import add_parser as add_report_parser
    add_report_parser(sub)
    register_call_commands(sub)

    for ep in entry_points(group="hotline.commands"):
        try:
            ep.load()(sub)
        except ImportError as exc:
            log.debug("commands %s not available: %s", ep.name, exc)
    return p


def main(argv: list[str] | None = None) -> int:
    try:
        setup_logging(load_settings().log_level)
    except ConfigError:
        setup_logging()
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return args.func(args) or 0
    except (HotlineError, ConfigError) as exc:
        print(f"hotline: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
