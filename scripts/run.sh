#!/usr/bin/env bash
# One command to set up and run the demo: virtualenv, install, migrate, demo city, start.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh" ""
# Voice prompts need espeak-ng and sox; without them the IVR still runs (Twilio reads text aloud).
apt_ensure espeak-ng sox || true
cd "$ROOT"
hotline prompts build >/dev/null 2>&1 || echo "note: voice prompts not rendered (hotline prompts build)" >&2
exec hotline run --demo "$@"
