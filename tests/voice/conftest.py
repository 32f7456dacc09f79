"""Voice-transport fixtures: the menu's FastAGI server on a free port, the environment a
spawned `hotline-agi` needs to share the test's database and clock, and the fake Asterisk's
sound library (the prompt catalog, so a prompt missing from it is heard as missing)."""
from __future__ import annotations

import dataclasses
import os
import shutil
import sys
from pathlib import Path

import pytest

from agi_scripts.fake_asterisk import CallResult, Sounds
from agi_scripts.service import menu_server
from agi_scripts.sounds import TONES
from ivr.prompts import LANGS, all_prompts

CAPTURES = Path(__file__).resolve().parents[3] / "shared" / "asterisk-captures"


def catalog_sounds() -> Sounds:
    """An Asterisk that has exactly the files `hotline prompts build` makes, and none of its
    own sound packages."""
    built = [f"hotline/{lang}/{key}" for key in all_prompts() for lang in LANGS] + [f"hotline/{t}" for t in TONES]
    return Sounds(built, stock=False)


def hotline_agi() -> list[str]:
    """The installed `hotline-agi` script of this virtualenv."""
    exe = Path(sys.executable).with_name("hotline-agi")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("hotline-agi")
    if not found:
        pytest.fail("hotline-agi is not installed; run `pip install -e '.[test]'`", pytrace=False)
    return [found]


def agi_environment(hl, clock) -> dict[str, str]:
    """What Asterisk's environment would hold for a spawned hotline-agi, plus the test's settings
    (its database, its fixed clock via the test-only HOTLINE_FIXED_NOW)."""
    s = hl.settings
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HOTLINE_", "FASTAGI_"))}
    env.update({"DATABASE_URL": s.database_url, "HOTLINE_DEMO": "1", "SECRET_KEY": "test-secret",
                "TWILIO_AUTH_TOKEN": "test-twilio-token", "TWILIO_ACCOUNT_SID": "ACtest", "SMS_PROVIDER": "console",
                "RECORDINGS_DIR": str(s.recordings_dir), "HOTLINE_FIXED_NOW": clock.now.isoformat(),
                "TIMEZONE": str(s.timezone), "BUSINESS_HOURS": "%s-%s" % tuple(t.strftime("%H:%M")
                                                                               for t in s.business_hours)})
    return env


def heard_keys_and_texts(result: CallResult) -> list[str]:
    """What the caller heard, as ivr.scenarios.heard_in lists it: each sentence's prompt keys,
    then the sentence itself (the script logs it with VERBOSE just before playing it)."""
    out: list[str] = []
    sentence = None
    for h in result.heard:
        if h.kind == "prompt" and h.value.startswith(tuple(f"hotline/{lang}/" for lang in LANGS)):
            out.append(h.value.split("/", 2)[2])
        elif h.kind == "verbose":
            if sentence is not None:
                out.append(sentence)
            sentence = h.value
    if sentence is not None:
        out.append(sentence)
    return out


@pytest.fixture
def hl(hl, tmp_path):
    """The core fixture's Hotline, with voice notes in the test's temp directory (the fake
    Asterisk writes them where the script tells it to)."""
    hl.settings = dataclasses.replace(hl.settings, recordings_dir=tmp_path / "recordings")
    return hl


@pytest.fixture
def fastagi(hl):
    """The voice menu's FastAGI server on a free loopback port."""
    server = menu_server(hl, bind=("127.0.0.1", 0), max_calls=8).start()
    yield server
    server.stop(grace=5)
