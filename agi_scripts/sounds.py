"""`hotline prompts build`: every catalog prompt, in Chinese and English, as a file Asterisk plays.

Text comes from `ivr.prompts`; espeak-ng speaks it (voice `cmn` for zh, `en` for en) and sox
turns it into what Asterisk plays without transcoding: 8 kHz, mono, 16-bit signed PCM wav,
at `<PROMPTS_DIR>/<lang>/<key>.wav` (`STREAM FILE hotline/<lang>/<key>` with PROMPTS_DIR at
`/var/lib/asterisk/sounds/hotline`). A manifest beside the files remembers what each was made
from, so a rebuild renders only new or changed prompts.

Beside the prompts it makes the two sounds the menu plays that are not words, so the menu
needs nothing from Asterisk's own sound packages: `<PROMPTS_DIR>/beep.wav` (the tone before a
voice note) and `<PROMPTS_DIR>/silence/1.wav` (what GET DATA plays while it waits for keys).
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

log = logging.getLogger(__name__)

VOICES = {"zh": "cmn", "en": "en"}
SPEED_WPM = {"zh": 150, "en": 150}
SAMPLE_RATE = 8000
# sox output options: what Asterisk's slin (8 kHz) format is, in a wav container
SOX_OUT = ["-r", str(SAMPLE_RATE), "-c", "1", "-b", "16", "-e", "signed-integer"]
MANIFEST = ".manifest.json"
RENDERER = "espeak-ng+sox v1"      # change it to force every prompt to be rendered again
TOOLS = ("espeak-ng", "sox")
INSTALL_HINT = "sudo apt-get install -y espeak-ng sox"
# Sounds made by sox alone, by name under PROMPTS_DIR (Asterisk: `hotline/<name>`).
TONES: dict[str, list[str]] = {
    "beep": ["synth", "0.25", "sine", "1000", "vol", "0.5"],
    "silence/1": ["trim", "0", "1"],
}


class ToolsMissing(RuntimeError):
    """espeak-ng or sox is not installed; the message says how to install them."""


@dataclass
class BuildReport:
    rendered: list[str]
    unchanged: int
    failed: list[tuple[str, str]]
    directory: Path


def check_tools() -> None:
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if missing:
        raise ToolsMissing(f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not installed; "
                           f"install with: {INSTALL_HINT}")


def fingerprint(text: str, lang: str) -> str:
    return hashlib.sha256(f"{RENDERER}|{VOICES[lang]}|{SPEED_WPM[lang]}|{text}".encode()).hexdigest()[:16]


def render(text: str, lang: str, out: Path) -> None:
    """Speak `text` into `out` (8 kHz mono 16-bit wav); written whole or not at all."""
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".wav", dir=out.parent, prefix=".render-")
    os.close(fd)
    try:
        speak = subprocess.run(["espeak-ng", "-v", VOICES[lang], "-s", str(SPEED_WPM[lang]), "--stdin", "--stdout"],
                               input=text.encode("utf-8"), capture_output=True, check=True)
        subprocess.run(["sox", "-q", "-t", "wav", "-", *SOX_OUT, tmp], input=speak.stdout,
                       capture_output=True, check=True)
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def render_tone(name: str, out: Path) -> None:
    """Make the tone `name` of TONES into `out`; written whole or not at all. (No dither: the
    silence must be silent.)"""
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".wav", dir=out.parent, prefix=".render-")
    os.close(fd)
    try:
        subprocess.run(["sox", "-q", "-D", "-n", *SOX_OUT, tmp, *TONES[name]], capture_output=True, check=True)
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def build(directory: Path, prompts: dict[str, dict[str, str]], *, langs: Iterable[str] = ("zh", "en"),
          keys: Iterable[str] | None = None, force: bool = False, workers: int | None = None) -> BuildReport:
    """Render the prompts that are new or changed since the last build (and the TONES, unless
    only some `keys` are asked for)."""
    check_tools()
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    manifest_path = directory / MANIFEST
    try:
        manifest: dict[str, str] = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        manifest = {}
    wanted = list(keys) if keys is not None else sorted(prompts)
    jobs, unchanged = [], 0
    for key in wanted:
        for lang in langs:
            text = prompts[key][lang]
            name = f"{lang}/{key}"
            out = directory / lang / f"{key}.wav"
            fp = fingerprint(text, lang)
            if not force and manifest.get(name) == fp and out.is_file():
                unchanged += 1
                continue
            jobs.append((name, text, lang, out, fp))
    for tone, effect in (TONES.items() if keys is None else ()):
        name = f"tone/{tone}"
        out = directory / f"{tone}.wav"
        fp = hashlib.sha256(f"{RENDERER}|{' '.join(effect)}".encode()).hexdigest()[:16]
        if not force and manifest.get(name) == fp and out.is_file():
            unchanged += 1
            continue
        jobs.append((name, tone, None, out, fp))

    def run(job):
        name, text, lang, out, fp = job
        try:
            if lang is None:
                render_tone(text, out)
            else:
                render(text, lang, out)
            return name, fp, ""
        except subprocess.CalledProcessError as exc:
            return name, fp, (exc.stderr or b"").decode("utf-8", "replace").strip() or str(exc)

    rendered, failed = [], []
    with ThreadPoolExecutor(max_workers=workers or os.cpu_count() or 2) as pool:
        for name, fp, error in pool.map(run, jobs):
            if error:
                failed.append((name, error))
                manifest.pop(name, None)
            else:
                rendered.append(name)
                manifest[name] = fp
    tmp = manifest_path.with_suffix(".tmp")
    tmp.write_text(json.dumps(manifest, ensure_ascii=False, indent=0, sort_keys=True), encoding="utf-8")
    os.replace(tmp, manifest_path)
    return BuildReport(rendered, unchanged, failed, directory)
