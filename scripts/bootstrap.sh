#!/usr/bin/env bash
# Shared by run.sh and test.sh: a virtualenv in .venv with Hotline installed (editable).
# Usage: source scripts/bootstrap.sh [extras]   e.g. "test"
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${PYTHON:-python3}"
if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "Hotline needs Python 3.11 or newer (found: $("$PY" --version 2>&1)); set PYTHON=/path/to/python3.11" >&2
  exit 1
fi
if [ ! -x "$ROOT/.venv/bin/python" ]; then
  echo "==> creating virtualenv in .venv"
  "$PY" -m venv "$ROOT/.venv"
fi
STAMP="$ROOT/.venv/.hotline-installed-${1:-base}"
if [ ! -f "$STAMP" ] || [ "$ROOT/setup.cfg" -nt "$STAMP" ]; then
  echo "==> installing Hotline and its pinned dependencies into .venv"
  "$ROOT/.venv/bin/pip" install --quiet --upgrade pip
  if [ -n "${1:-}" ]; then
    "$ROOT/.venv/bin/pip" install --quiet -e "$ROOT[$1]"
  else
    "$ROOT/.venv/bin/pip" install --quiet -e "$ROOT"
  fi
  touch "$STAMP"
fi
export PATH="$ROOT/.venv/bin:$PATH"

# apt_ensure PKG... : install missing Debian packages (root only; says what to run otherwise).
apt_ensure() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    echo "==> installing Debian packages: ${missing[*]}"
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/tmp/hotline-apt.log 2>&1; then
      apt-get update -q >>/tmp/hotline-apt.log 2>&1
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >>/tmp/hotline-apt.log 2>&1 \
        || { echo "apt-get install ${missing[*]} failed; see /tmp/hotline-apt.log" >&2; return 1; }
    fi
  else
    echo "note: missing Debian packages ${missing[*]}: run 'sudo apt-get install ${missing[*]}'" >&2
    return 1
  fi
}
