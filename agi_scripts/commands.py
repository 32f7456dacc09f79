"""The voice side's `hotline` subcommands and the service `hotline run` starts.

- `hotline prompts build`: render the prompt catalog to wav files for Asterisk.
- `hotline simulate-call PHONE [--keys "1 1 1 2 1 1 1"]`: a call in the terminal over FastAGI.
- `fastagi_service(hl)`: the FastAGI server (and the AMI listener when AMI_URL is set).
"""
from __future__ import annotations

import argparse
from pathlib import Path

from tickets.errors import HotlineError


def cmd_prompts_build(args) -> int:
    from ivr.prompts import LANGS, all_prompts
    from tickets.config import load_settings

    from .sounds import ToolsMissing, build

    directory = Path(args.dir) if args.dir else load_settings().prompts_dir
    prompts = all_prompts()
    keys = args.key or None
    unknown = sorted(set(keys or ()) - set(prompts))
    if unknown:
        raise HotlineError(f"no such prompt: {', '.join(unknown)} (see ivr/prompts.py)")
    try:
        report = build(directory, prompts, langs=[args.lang] if args.lang else LANGS, keys=keys, force=args.force)
    except ToolsMissing as exc:
        raise HotlineError(str(exc)) from None
    print(f"prompts in {report.directory}: {len(report.rendered)} rendered, {report.unchanged} unchanged, "
          f"{len(report.failed)} failed")
    for name, error in report.failed:
        print(f"  {name}: {error}")
    if not report.failed:
        print(f"Asterisk plays them as hotline/<lang>/<key>: copy or link {report.directory} to "
              "/var/lib/asterisk/sounds/hotline (or set PROMPTS_DIR there and build again).")
    return 1 if report.failed else 0


def cmd_simulate_call(args) -> int:
    from tickets.cli import make_hotline

    from .fake_asterisk import ScriptedKeys
    from .simulate import simulate_call

    hl = make_hotline(args)
    try:
        simulate_call(hl, args.phone, keys=ScriptedKeys.parse(args.keys) if args.keys is not None else None,
                      hangup_after=args.hangup_after, url=args.url, barge_in=args.barge_in)
    except ValueError as exc:
        raise HotlineError(str(exc)) from None
    except ConnectionError as exc:
        raise HotlineError(f"cannot reach the FastAGI server ({exc}); is `hotline run` running?") from None
    finally:
        hl.close()
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the voice subcommands to the `hotline` parser."""
    prompts = sub.add_parser("prompts", help="voice prompts for Asterisk").add_subparsers(
        dest="prompts_cmd", metavar="ACTION")
    p = prompts.add_parser("build", help="render every prompt (zh, en) to 8 kHz wav with espeak-ng and sox; "
                                         "unchanged prompts are skipped")
    p.add_argument("--dir", help="output directory (default: PROMPTS_DIR)")
    p.add_argument("--lang", choices=("zh", "en"), help="only this language")
    p.add_argument("--key", action="append", help="only this prompt key (repeatable)")
    p.add_argument("--force", action="store_true", help="render again even when unchanged")
    p.set_defaults(func=cmd_prompts_build)

    p = sub.add_parser("simulate-call", help="walk the voice menu in the terminal over FastAGI "
                                             "(against `hotline run`, or in-process when it is not running)")
    p.add_argument("phone", help="the calling number, e.g. 13800138000")
    p.add_argument("--keys", help='the keys of each input, space-separated, e.g. "1 1 1 2 1 1 1"; '
                                  '"-" = press nothing that time; without --keys you are asked')
    p.add_argument("--hangup-after", type=int, metavar="N", help="hang up after N prompt files were played")
    p.add_argument("--url", help="FastAGI server, agi://HOST:PORT[/SCRIPT] (default: FASTAGI_BIND)")
    p.add_argument("--barge-in", action="store_true", help="press each input's first key while the prompt plays")
    p.set_defaults(func=cmd_simulate_call)


def fastagi_service(hl):
    """The `hotline run` service: FastAGI on FASTAGI_BIND, plus AMI when AMI_URL is set."""
    from .service import VoiceService

    return VoiceService(hl)
