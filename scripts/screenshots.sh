#!/usr/bin/env bash
# Regenerate the README's screenshots (docs/screenshots/*.png) from the browser tests.
# A plain test run takes them into a temporary folder, so it leaves the checkout clean.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh" test
cd "$ROOT"
apt_ensure chromium fonts-wqy-microhei
HOTLINE_SCREENSHOTS="$ROOT/docs/screenshots" exec python -m pytest -p no:cacheprovider tests/browser/test_screenpop_flow.py tests/browser/test_selfservice.py tests/browser/test_reports.py "$@"
