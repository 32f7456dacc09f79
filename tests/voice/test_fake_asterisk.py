"""The fake Asterisk's own behaviour beyond the captures: which files exist, recordings, a
runaway script."""
from __future__ import annotations

import wave

from agi_scripts.fake_asterisk import SAMPLE_RATE, AsteriskChannel, Caller, ScriptedKeys, Sounds, write_silence


def channel(caller: Caller | None = None, sounds: Sounds | None = None) -> AsteriskChannel:
    return AsteriskChannel({"agi_callerid": "13800138000"}, caller or Caller(), sounds or Sounds())


def test_a_prompt_exists_when_its_file_is_in_the_prompts_directory_and_plays_its_length(tmp_path):
    (tmp_path / "zh").mkdir()
    write_silence(str(tmp_path / "zh" / "bye.wav"), SAMPLE_RATE * 3)
    chan = channel(sounds=Sounds(prompts_dir=tmp_path))
    assert chan.handle('STREAM FILE hotline/zh/bye ""') == [f"200 result=0 endpos={SAMPLE_RATE * 3}"]
    assert chan.handle('STREAM FILE hotline/en/bye ""') == ["200 result=-1 endpos=0"]


def test_a_spoken_recording_is_written_where_the_script_asked(tmp_path):
    chan = channel(Caller(keys=ScriptedKeys(["R"]), speech_seconds=2))
    (tmp_path / "rec").mkdir()
    path = tmp_path / "rec" / "note"
    assert chan.handle(f'RECORD FILE {path} wav "#" 60000 0 beep s=3') == [
        f"200 result=35 (dtmf) endpos={2 * SAMPLE_RATE}"]
    with wave.open(f"{path}.wav") as w:
        assert (w.getframerate(), w.getnchannels(), w.getnframes()) == (SAMPLE_RATE, 1, 2 * SAMPLE_RATE)


def test_silence_at_a_recording_keeps_nothing():
    chan = channel(Caller(keys=ScriptedKeys([""])))
    assert chan.handle('RECORD FILE /tmp/hotline-fake-silence wav "#" 2000 0 s=1') == [
        "200 result=0 (timeout) endpos=0"]


def test_a_recording_asterisk_cannot_write_fails_like_asterisk(tmp_path):
    (tmp_path / "file").write_text("")
    chan = channel(Caller(keys=ScriptedKeys(["R"])))
    assert chan.handle(f'RECORD FILE {tmp_path}/file/note wav "#" 60000 0 beep s=3') == [
        "200 result=-1 (writefile)"]


def test_a_recording_into_a_folder_that_does_not_exist_fails_like_asterisk(tmp_path):
    """res_agi.c opens the file in place (ast_writefile): no folder is made, the command fails."""
    chan = channel(Caller(keys=ScriptedKeys(["R"])))
    assert chan.handle(f'RECORD FILE {tmp_path}/recordings/note wav "#" 60000 0 s=3') == ["200 result=-1 (writefile)"]
    assert not (tmp_path / "recordings").exists()


def test_a_recording_asking_for_a_beep_asterisk_lacks_fails_like_asterisk(tmp_path):
    chan = channel(Caller(keys=ScriptedKeys(["R"])), Sounds(stock=False))
    assert chan.handle(f'RECORD FILE {tmp_path}/note wav "#" 60000 0 beep s=3') == [
        "200 result=-1 (randomerror) endpos=0"]
    assert chan.handle(f'RECORD FILE {tmp_path}/note wav "#" 60000 0 s=3') == [
        f"200 result=35 (dtmf) endpos={4 * SAMPLE_RATE}"]


def test_say_digits_in_a_language_without_digit_sounds_plays_nothing_and_says_success():
    chan = channel(sounds=Sounds())
    assert chan.handle("SET VARIABLE CHANNEL(language) zh") == ["200 result=1"]
    assert chan.handle('SAY DIGITS 2632700001 ""') == ["200 result=0"]
    assert [h.kind for h in chan.heard] == ["missing"]
    assert chan.handle("SET VARIABLE CHANNEL(language) en") == ["200 result=1"]
    assert chan.handle('SAY DIGITS 2632700001 ""') == ["200 result=0"]
    assert chan.heard[-1].kind == "digits"


def test_a_caller_with_no_inputs_left_hangs_up_instead_of_waiting_forever():
    chan = channel(Caller(keys=ScriptedKeys(["1"])))
    assert chan.handle('GET DATA silence/1 4000 1') == ["200 result=1"]
    assert chan.handle('GET DATA silence/1 4000 1') == ["200 result=-1"]
    assert chan.hung_up_by == "caller"
    assert chan.handle("CHANNEL STATUS") == ["511 Command Not Permitted on a dead channel or intercept routine"]
