"""The AGI environment: the `agi_*: value` lines Asterisk sends before the first command.

Standard library only: `hotline-agi` reads it and sends its first command before it loads
anything else (see agi_scripts/agi.py).
"""
from __future__ import annotations


def read_environment(rfile) -> dict[str, str]:
    """The lines up to the blank one (from a binary file), as a dict; EOFError when the
    connection closes first. (No `typing` import here: it would cost the script's start.)"""
    env: dict[str, str] = {}
    while True:
        raw = rfile.readline()
        if not raw:
            raise EOFError("the connection closed before the AGI environment was complete")
        line = raw.decode("utf-8", "replace").rstrip("\r\n")
        if not line:
            return env
        key, sep, value = line.partition(":")
        if sep and key.strip():
            env[key.strip()] = value.strip()
