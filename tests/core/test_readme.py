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
