#!/usr/bin/env bash
# One command to set up and run every test.
# With CI set, PostgreSQL, Redis and Chromium are installed when missing and their tests must run;
# without CI they run when installed and the summary line "backends: ..." says which ran.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh" test
cd "$ROOT"
if [ -n "${CI:-}" ]; then
  apt_ensure postgresql redis-server chromium fonts-wqy-microhei espeak-ng sox
else
  apt_ensure postgresql redis-server chromium fonts-wqy-microhei espeak-ng sox || echo "note: tests needing those will skip" >&2
fi
exec python -m pytest -p no:cacheprovider "$@"
