#!/usr/bin/env bash
# stop.sh: stops the test servers that start.sh started (by their pid files only; never by name),
# waits for each to exit (SIGKILL after 10 s), frees Ceph's memory store and removes .env.
# Safe to run when nothing is running.
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BASE=${STRATA_TEST_SERVERS_DIR:-/var/tmp/strata-test-servers}
stop_pid_file() {
  local f=$1 p i
  [ -f "$f" ] || return 0
  p=$(cat "$f" 2>/dev/null) || return 0
  [ -n "$p" ] || return 0
  if kill "$p" 2>/dev/null; then
    for i in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$p" 2>/dev/null
  fi
  rm -f "$f"
}
# Apache: the parent's pid file; its children exit with it.
stop_pid_file "$BASE/dav/httpd.pid"
# Ceph: gateway first, then the OSD, then the monitor.
for n in client.rgw.a osd.0 mon.a; do stop_pid_file "$BASE/ceph/run/$n.pid"; done
rm -f "$HERE/.env"
true
