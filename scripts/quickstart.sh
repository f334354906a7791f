#!/usr/bin/env bash
# Sets strata up on a fresh Debian/Ubuntu machine with Node.js >= 20 and runs a real backup:
# installs 7-Zip, par2 and git, the npm dependencies, builds, then backs up SOURCE (default: this
# repository's src/ folder) to DEST (default /tmp/strata-quickstart/dest): a weekly FULL set, a
# change, a daily INCR set; then lists, verifies and restores the newest state and compares it.
#   usage: bash scripts/quickstart.sh [SOURCE_DIR] [DEST]
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
bash scripts/install-deps.sh
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then npm ci --no-audit --no-fund; fi
npm run build --silent
WORK=/tmp/strata-quickstart
SOURCE=${1:-}
DEST=${2:-$WORK/dest}
rm -rf "$WORK/state" "$WORK/restored" "$WORK/demo-source"
mkdir -p "$WORK"
if [ -z "$SOURCE" ]; then
  # A copy of this repository's sources, so the demo can change a file without touching the repo.
  SOURCE=$WORK/demo-source
  cp -a "$REPO/src" "$SOURCE"
  DEMO=1
fi
export STRATA_PASSWORD=${STRATA_PASSWORD:-quickstart-demo-password}
[ "$STRATA_PASSWORD" = quickstart-demo-password ] && echo "note: using the demo password 'quickstart-demo-password' (set STRATA_PASSWORD to use your own)"
S="$REPO/bin/strata.js --state $WORK/state"
set -x
# strata never creates a missing destination: init creates it (once) and writes its marker.
$S init --dest "$DEST"
$S backup --tier weekly --source "$SOURCE" --dest "$DEST"
{ set +x; } 2>/dev/null
if [ "${DEMO:-0}" = 1 ]; then echo "// changed by the quickstart at $(date -u +%FT%TZ)" >> "$SOURCE/version.ts"; fi
set -x
$S backup --tier daily --source "$SOURCE" --dest "$DEST"
$S list --dest "$DEST"
$S verify --dest "$DEST"
$S restore --dest "$DEST" --to "$WORK/restored"
$S log
diff -r "$SOURCE" "$WORK/restored" && echo "quickstart: restored state matches the source exactly"
