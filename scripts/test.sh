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
bash scripts/test-servers/stop.sh >/dev/null 2>&1 || true
# On the way out (a failed lint, too), the servers' start and the build are waited for first, so
# that stop.sh never races a start still under way.
trap 'wait || true; bash scripts/test-servers/stop.sh >/dev/null 2>&1 || true' EXIT
# The build (tsc, one core), the lint (eslint, the other core) and the servers' start (mostly
# waiting for Ceph) need nothing of each other: they run at once, and each must succeed.
bash scripts/test-servers/start.sh &
servers=$!
npm run build &
build=$!
npm run lint
wait "$build"
wait "$servers"
set -a
# shellcheck disable=SC1091
. scripts/test-servers/.env
set +a
export STRATA_TEST_TMP="${STRATA_TEST_TMP:-$(mktemp -d /tmp/strata-tests.XXXXXX)}"
# Some tests run strata as user nobody (unreadable-file cases): it must be able to reach the temp dirs.
chmod 0755 "$STRATA_TEST_TMP"
node --test --test-concurrency=1 --test-reporter=spec "$@" $(find dist/test -name '*.test.js' | sort)
