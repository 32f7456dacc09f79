"""What the menu got wrong on a real Asterisk 22 with the project's own asterisk_conf/ (issue 14):
no recordings folder, no Chinese digit sounds, no stock sound pack, keys typed over the
greeting, the abandon point of a hang-up during the greeting. The fake Asterisk answers as
res_agi.c does in each case, with only the files `hotline prompts build` makes."""
from __future__ import annotations

import dataclasses
import logging

from agi_scripts.fake_asterisk import Caller, FakeAsterisk, ScriptedKeys
from agi_scripts.service import menu_server
from ivr.scenarios import DEMO_PATH, LI, WANG
from tickets import calls

from .conftest import catalog_sounds


def place(server, caller: Caller):
    return FakeAsterisk(caller, catalog_sounds()).call_fastagi(*server.address)


def record_of(hl, result):
    with hl.session() as s:
        return calls.get_call(s, result.uniqueid)


def test_a_voice_note_is_kept_on_a_fresh_setup_without_the_recordings_folder(hl, fastagi, tmp_path):
    folder = hl.settings.recordings_dir
    folder.rmdir()                            # made at start-up; removed as on a box set up by hand
    result = place(fastagi, Caller(LI, keys=ScriptedKeys.parse("3 1 R")))
    assert record_of(hl, result).outcome == "complaint"
    assert [h.value for h in result.heard if h.kind == "record"] == [
        f"{folder}/call{record_of(hl, result).id}-complaint-record-1.wav"]
    assert (folder / f"call{record_of(hl, result).id}-complaint-record-1.wav").is_file()


def test_the_menu_server_makes_the_recordings_folder_when_it_starts(hl):
    assert not hl.settings.recordings_dir.exists()
    server = menu_server(hl, bind=("127.0.0.1", 0), max_calls=1)
    assert hl.settings.recordings_dir.is_dir()
    del server


def test_a_recordings_folder_that_cannot_be_made_is_named_in_the_log(hl, tmp_path, caplog):
    (tmp_path / "a-file").write_text("")
    hl.settings = dataclasses.replace(hl.settings, recordings_dir=tmp_path / "a-file" / "recordings")
    server = menu_server(hl, bind=("127.0.0.1", 0), max_calls=1).start()
    try:
        with caplog.at_level(logging.ERROR):
            result = place(server, Caller(LI, keys=ScriptedKeys.parse("3 1 R R R")))
    finally:
        server.stop(grace=5)
    assert record_of(hl, result).outcome != "complaint"
    text = caplog.text
    assert f"RECORDINGS_DIR {tmp_path}/a-file/recordings cannot be created" in text
    assert "could not open the recording" in text and "writable by the user Asterisk runs as" in text


def test_a_voice_note_uses_the_menus_own_beep_not_asterisks_sound_pack(hl, fastagi):
    result = place(fastagi, Caller(LI, keys=ScriptedKeys.parse("3 1 R")))
    sent = result.commands_sent()
    record = next(i for i, line in enumerate(sent) if line.startswith("RECORD FILE"))
    assert sent[record - 1] == 'STREAM FILE "hotline/beep" ""'
    assert "beep" not in sent[record]
    assert not [h for h in result.heard if h.kind == "missing"]
    assert record_of(hl, result).outcome == "complaint"


def test_the_order_number_is_spoken_in_chinese_from_prompt_files(hl, fastagi):
    result = place(fastagi, Caller(WANG, keys=ScriptedKeys.parse(DEMO_PATH)))
    number = record_of(hl, result).order_id and calls_order_number(hl, result)
    played = [h.value for h in result.heard if h.kind == "prompt"]
    digits = [f"hotline/zh/num.{d}" for d in number]
    done = played.index("hotline/zh/book.done")
    assert played[done + 1:done + 1 + len(digits)] == digits
    assert not [h for h in result.heard if h.kind == "missing"]
    assert not any(line.startswith(("SAY DIGITS", "SAY NUMBER")) for line in result.commands_sent())


def test_prices_and_times_are_spoken_from_prompt_files(hl, fastagi):
    result = place(fastagi, Caller(WANG, keys=ScriptedKeys.parse(DEMO_PATH)))
    played = [h.value for h in result.heard if h.kind == "prompt"]
    price = played.index("hotline/zh/book.readback.price")
    yuan = played.index("hotline/zh/money.yuan", price)
    assert yuan > price + 1 and all(p.startswith("hotline/zh/num.") for p in played[price + 1:yuan])
    assert not [h for h in result.heard if h.kind == "missing"]


def calls_order_number(hl, result) -> str:
    from tickets.models import WorkOrder
    with hl.session() as s:
        return s.get(WorkOrder, calls.get_call(s, result.uniqueid).order_id).number


def test_a_key_pressed_during_the_greeting_counts_for_the_main_menu(hl, fastagi):
    result = place(fastagi, Caller(WANG, keys=ScriptedKeys.parse("0"), barge_in=True))
    played = [h.value for h in result.heard if h.kind == "prompt"]
    assert played[0] == "hotline/zh/greet.known"
    assert "hotline/zh/main.menu" not in played
    assert result.variables["HOTLINE_RESULT"] == "transfer"
    assert record_of(hl, result).ivr_path[:4] == ["start", "greet", "main", "agent"]


def test_a_hang_up_during_the_greeting_is_recorded_at_the_greeting(hl, fastagi):
    result = place(fastagi, Caller(WANG, hangup_after=0))
    assert [h.kind for h in result.heard if h.kind in ("prompt", "hangup")] == ["hangup"]
    record = record_of(hl, result)
    assert (record.outcome, record.abandoned_at) == ("abandoned", "greet")
    assert result.variables["HOTLINE_ABANDONED_AT"] == "greet"
