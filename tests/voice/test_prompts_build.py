"""`hotline prompts build`: real espeak-ng + sox rendering to what Asterisk plays, and a
catalog that has every prompt the menus name in both languages."""
from __future__ import annotations

import shutil
import subprocess
import wave

import pytest

from agi_scripts.sounds import INSTALL_HINT, ToolsMissing, build
from ivr.prompts import LANGS, all_prompts
from ivr.runtime import Ivr
from tickets.cli import main as hotline

needs_tools = pytest.mark.skipif(not (shutil.which("espeak-ng") and shutil.which("sox")),
                                 reason="espeak-ng and sox are not installed (scripts/test.sh installs them)")

SOME = {"bye": all_prompts()["bye"], "main.menu": all_prompts()["main.menu"]}


@needs_tools
def test_prompts_are_rendered_as_8khz_mono_16bit_wav_in_both_languages(tmp_path):
    report = build(tmp_path, SOME)
    assert sorted(report.rendered) == ["en/bye", "en/main.menu", "tone/beep", "tone/silence/1", "zh/bye", "zh/main.menu"]
    for name in report.rendered:
        path = tmp_path / f"{name.removeprefix('tone/')}.wav"
        with wave.open(str(path)) as w:
            assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (8000, 1, 2)
            assert w.getnframes() >= 8000 * (0.2 if name == "tone/beep" else 0.5)   # speech: at least half a second
        soxi = [subprocess.run(["soxi", flag, str(path)], capture_output=True, text=True, check=True).stdout.strip()
                for flag in ("-r", "-c", "-b", "-e")]
        assert soxi == ["8000", "1", "16", "Signed Integer PCM"]


@needs_tools
def test_a_second_build_renders_only_what_changed(tmp_path):
    build(tmp_path, SOME)
    again = build(tmp_path, SOME)
    assert (again.rendered, again.unchanged) == ([], 6)
    changed = {**SOME, "bye": {"zh": "再见。", "en": "Bye."}}
    third = build(tmp_path, changed)
    assert sorted(third.rendered) == ["en/bye", "zh/bye"]
    assert third.unchanged == 4


@needs_tools
def test_the_build_makes_the_beep_and_the_second_of_silence_the_menu_plays(tmp_path):
    """Asterisk's sound packages are not needed: without `beep` RECORD FILE fails, without
    `silence/1` GET DATA does."""
    build(tmp_path, {})
    with wave.open(str(tmp_path / "silence" / "1.wav")) as w:
        assert (w.getframerate(), w.getnframes()) == (8000, 8000)
        assert set(w.readframes(8000)) == {0}
    with wave.open(str(tmp_path / "beep.wav")) as w:
        assert (w.getframerate(), w.getnframes()) == (8000, 2000)
        assert max(w.readframes(2000)) > 0


@needs_tools
def test_the_command_builds_into_the_directory_given(tmp_path, capsys):
    assert hotline(["prompts", "build", "--dir", str(tmp_path), "--key", "bye", "--lang", "en"]) == 0
    assert (tmp_path / "en" / "bye.wav").is_file()
    assert "1 rendered, 0 unchanged, 0 failed" in capsys.readouterr().out


def test_without_espeak_ng_and_sox_the_command_says_how_to_install_them(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ToolsMissing, match="apt-get install -y espeak-ng sox"):
        build(tmp_path, SOME)
    assert hotline(["prompts", "build", "--dir", str(tmp_path)]) == 1
    assert INSTALL_HINT in capsys.readouterr().err


def test_every_prompt_a_menu_names_has_text_in_both_languages(hl):
    catalog = all_prompts()
    named = {key for node in Ivr(hl).menus.values() for key in node.prompts}
    assert named
    missing = sorted(f"{lang}/{key}" for key in named for lang in LANGS if not catalog.get(key, {}).get(lang))
    assert missing == []
