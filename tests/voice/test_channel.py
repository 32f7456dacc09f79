"""The AGI command layer (agi_scripts/channel.py) against the fake Asterisk, over a real socket.

Each test runs a small AGI script in the FastAGI server and a scripted call from the fake
Asterisk into it, so every command and reply crosses the real wire.
"""
from __future__ import annotations

import pytest

from agi_scripts.channel import (AGIAppError, AGIInvalidCommand, AGIUsageError, AgiChannel, ChannelHungUp,
                                 parse_reply, quote)
from agi_scripts.fake_asterisk import Caller, FakeAsterisk, ScriptedKeys, Sounds, parse_args
from agi_scripts.fastagi import FastAgiServer


def run_script(script, caller: Caller | None = None, sounds: Sounds | None = None):
    """Run `script(channel)` as a FastAGI call placed by the fake Asterisk; (call result, outcome)."""
    outcome: dict = {}

    def handle(channel: AgiChannel) -> str:
        try:
            outcome["value"] = script(channel)
        except Exception as exc:  # noqa: BLE001 - handed to the test
            outcome["error"] = exc
        return ""

    server = FastAgiServer(handle, bind=("127.0.0.1", 0)).start()
    try:
        result = FakeAsterisk(caller or Caller(), sounds or Sounds()).call_fastagi(*server.address)
    finally:
        server.stop(grace=5)
    return result, outcome


@pytest.mark.parametrize("value", ['中文 测试 "q"', "C:\\path\\to\\file", "ends in a backslash\\", "", "王女士 (VIP)",
                                   "tab\there", '\\"both\\"'])
def test_a_quoted_argument_reaches_asterisk_unchanged(value):
    result, outcome = run_script(lambda ch: (ch.set_variable("HOTLINE_TEST", value), ch.get_variable("HOTLINE_TEST")))
    assert result.variables["HOTLINE_TEST"] == value
    assert outcome["value"][1] == value


def test_a_line_break_in_an_argument_cannot_end_the_command_early():
    result, outcome = run_script(lambda ch: (ch.set_variable("NOTE", "first\nsecond"), ch.get_variable("NOTE")))
    assert result.variables["NOTE"] == "first second"
    assert result.commands == 2


def test_quote_reads_back_through_asterisks_own_argument_parser():
    text = 'a "b" \\c\\ 中文'
    assert parse_args(f"SET VARIABLE X {quote(text)}") == ["SET", "VARIABLE", "X", text]


@pytest.mark.parametrize("reply, parsed", [
    ("result=1 (中文 测试 \"q\")", {"result": ("1", '中文 测试 "q"')}),
    ("result= (timeout)", {"result": ("", "timeout")}),
    ("result=* (timeout)", {"result": ("*", "timeout")}),
    ("result=0 (timeout) endpos=0", {"result": ("0", "timeout"), "endpos": ("0", "")}),
    ("result=53 endpos=1440", {"result": ("53", ""), "endpos": ("1440", "")}),
    ("result=1 (a (b) c)", {"result": ("1", "a (b) c")}),
])
def test_replies_parse_like_asterisk_means_them(reply, parsed):
    assert parse_reply(reply) == parsed


def test_a_key_pressed_during_a_prompt_comes_back_as_that_key():
    caller = Caller(keys=ScriptedKeys(["5*"]), barge_in=True, hangup_when_done=False)
    _, outcome = run_script(lambda ch: (ch.stream_file_full("beep", "0123456789*#"),
                                        ch.get_data_full("silence/1", 3000, 3)), caller)
    (key, endpos), (rest, timed_out) = outcome["value"]
    assert (key, rest, timed_out) == ("5", "*", True)
    assert endpos > 0


def test_a_missing_sound_file_answers_minus_one_but_the_line_stays_up():
    def script(ch):
        with pytest.raises(AGIAppError):
            ch.stream_file_full("hotline/zh/no-such-prompt", "")
        return ch.channel_status(), ch.hungup
    _, outcome = run_script(script)
    assert outcome["value"] == (6, False)


def test_the_hangup_line_before_a_reply_marks_the_channel_hung_up():
    def script(ch):
        with pytest.raises(AGIAppError):
            ch.stream_file_full("beep", "")          # the caller hangs up during it: result=-1
        with pytest.raises(ChannelHungUp):
            ch.get_data_full("silence/1", 3000, 4)   # Asterisk: HANGUP, then 511
        return ch.hungup, ch.hangup_reason
    result, outcome = run_script(script, Caller(hangup_after=0))
    assert "error" not in outcome
    assert outcome["value"] == (True, "HANGUP")
    assert ("ast>", "HANGUP") in [(d, line) for _, d, line in result.transcript]


def test_variables_can_still_be_set_after_the_caller_hung_up():
    def script(ch):
        with pytest.raises(AGIAppError):
            ch.stream_file_full("beep", "")
        with pytest.raises(ChannelHungUp):
            ch.channel_status()
        ch.set_variable("HOTLINE_RESULT", "abandoned")
        return ch.get_variable("CALLERID(num)")
    result, outcome = run_script(script, Caller(number="13900139000", hangup_after=0))
    assert outcome["value"] == "13900139000"
    assert result.variables["HOTLINE_RESULT"] == "abandoned"


def test_channel_commands_after_a_hang_up_are_not_sent():
    def script(ch):
        with pytest.raises(AGIAppError):
            ch.stream_file_full("beep", "")
        with pytest.raises(ChannelHungUp):
            ch.channel_status()
        sent = ch.commands_sent
        with pytest.raises(ChannelHungUp):
            ch.say_digits("123")
        return sent, ch.commands_sent
    _, outcome = run_script(script, Caller(hangup_after=0))
    before, after = outcome["value"]
    assert before == after


def test_a_usage_error_block_is_read_whole_and_the_next_reply_is_in_step():
    def script(ch):
        with pytest.raises(AGIUsageError) as err:
            ch.execute("GET DATA")
        return str(err.value), ch.get_variable("CALLERID(num)")
    _, outcome = run_script(script)
    usage, number = outcome["value"]
    assert usage.startswith("520-Invalid command syntax")
    assert usage.rstrip().endswith("520 End of proper usage.")
    assert number == "13800138000"


def test_an_unknown_command_raises_invalid_command():
    _, outcome = run_script(lambda ch: ch.execute("FOO BAR"))
    assert isinstance(outcome["error"], AGIInvalidCommand)


def test_a_closed_connection_is_a_hang_up(tmp_path):
    r_path = tmp_path / "empty"
    r_path.write_bytes(b"agi_uniqueid: 1.1\n\n")
    with open(r_path, "rb") as rfile, open(tmp_path / "out", "wb") as wfile:
        ch = AgiChannel(rfile, wfile)
        with pytest.raises(ChannelHungUp):
            ch.answer()
        assert ch.hungup
        assert ch.hangup_reason == "connection closed"
