#!/usr/bin/env bash
# The production shape on one machine, with one command: throwaway PostgreSQL and Redis,
# `hotline init --demo`, then the Procfile under honcho (gunicorn with 2 web workers, 2 FastAGI
# processes, a scheduler). Stop with Ctrl-C; everything it started is removed.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh" "test"
apt_ensure postgresql redis-server
cd "$ROOT"
exec python -m tests.cluster "$@"
