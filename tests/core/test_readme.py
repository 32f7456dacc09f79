"""The README documents every environment variable and the commands it promises."""
from pathlib import Path

from tickets.config import VARIABLES

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def test_every_environment_variable_is_documented_in_the_readme():
    missing = [name for name in VARIABLES if f"`{name}`" not in README]
    assert missing == [], f"add these to the README's configuration table (hotline config --markdown): {missing}"


def test_readme_gives_the_run_and_test_commands():
    assert "./scripts/run.sh" in README
    assert "./scripts/test.sh" in README


def test_ci_runs_the_readmes_test_command():
    ci = (Path(__file__).resolve().parents[2] / ".ci" / "run").read_text()
    assert "./scripts/test.sh" in ci


def _try_it_commands() -> list[str]:
    """The `hotline ...` lines of the README's "Try it without a PBX" block, as a newcomer types them."""
    block = README.split("## Try it without a PBX", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    return [line.split("  #", 1)[0].strip() for line in block.splitlines() if line.startswith("hotline ")]


def test_the_readmes_try_it_examples_work_on_any_day(tmp_path):
    """Run as written (real clock), on a fresh demo database; `<number>` is what `order create` printed."""
    import json
    import os
    import shlex
    import socket
    import subprocess
    import sys

    with socket.socket() as s:          # nothing listens there: simulate-call serves the menu itself
        s.bind(("127.0.0.1", 0))
        free = s.getsockname()[1]
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'hotline.db'}", "LOG_LEVEL": "WARNING",
           "FASTAGI_BIND": f"127.0.0.1:{free}", "SMS_PROVIDER": "console", "PROMPTS_DIR": str(tmp_path / "sounds"),
           "RECORDINGS_DIR": str(tmp_path / "recordings"),
           # This checkout's code, though the commands run in a folder of their own.
           "PYTHONPATH": os.pathsep.join(filter(None, [str(Path(__file__).resolve().parents[2]),
                                                       os.environ.get("PYTHONPATH")]))}
    env.pop("HOTLINE_FIXED_NOW", None)

    def hotline(args: list[str]) -> subprocess.CompletedProcess:
        r = subprocess.run([sys.executable, "-m", "tickets.cli", *args], capture_output=True, text=True, env=env,
                           cwd=tmp_path, timeout=180)
        assert r.returncode == 0, f"hotline {' '.join(args)}:\n{r.stdout}\n{r.stderr}"
        return r

    hotline(["init", "--demo"])
    commands = _try_it_commands()
    assert any("order create" in c for c in commands) and any("order show" in c for c in commands)
    number = None
    for command in commands:
        args = shlex.split(command)[1:]
        if "<number>" in args:
            args[args.index("<number>")] = number
        out = hotline(args).stdout
        if args[:2] == ["order", "create"]:
            number = json.loads(out)["number"]
        elif args[0] == "simulate-call":
            assert "RESULT outcome=booked" in out, out
        elif args[:2] == ["order", "show"]:
            assert json.loads(out)["number"] == number
