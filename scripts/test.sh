#!/usr/bin/env bash
# The test command (npm test): installs everything the tests need (7-Zip, par2, git, the test S3
# and WebDAV servers), builds, lints, starts the servers on 127.0.0.1, runs every test against the
# real programs and servers, and stops the servers again.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/install-test-deps.sh
bash scripts/test-servers/install.sh
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then npm ci --no-audit --no-fund; fi
npm run build
npm run lint
bash scripts/test-servers/stop.sh >/dev/null 2>&1 || true
trap 'bash scripts/test-servers/stop.sh >/dev/null 2>&1 || true' EXIT
bash scripts/test-servers/start.sh
set -a
# shellcheck disable=SC1091
. scripts/test-servers/.env
set +a
export STRATA_TEST_TMP="${STRATA_TEST_TMP:-$(mktemp -d /tmp/strata-tests.XXXXXX)}"
# Some tests run strata as user nobody (unreadable-file cases): it must be able to reach the temp dirs.
chmod 0755 "$STRATA_TEST_TMP"
node --test --test-concurrency=1 --test-reporter=spec "$@" $(find dist/test -name '*.test.js' | sort)
