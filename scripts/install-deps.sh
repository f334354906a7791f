#!/usr/bin/env bash
# Installs the system programs strata drives: 7-Zip (7zz >= 22), par2cmdline, git, and attr
# (getfattr/setfattr: extended attributes and ACLs); acl (getfacl/setfacl) is for the tests; cron
# (crontab) for strata schedule where systemd is not running.
# Debian 12+ / Ubuntu 22.04+. Idempotent; uses sudo when not root.
set -euo pipefail
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
need=()
command -v 7zz >/dev/null 2>&1 || need+=(7zip)
command -v par2 >/dev/null 2>&1 || need+=(par2)
command -v git >/dev/null 2>&1 || need+=(git)
command -v getfattr >/dev/null 2>&1 || need+=(attr)
command -v setfacl >/dev/null 2>&1 || need+=(acl)
# strata schedule uses systemd timers where systemd runs, else crontab.
[ -d /run/systemd/system ] || command -v crontab >/dev/null 2>&1 || need+=(cron)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
7zz | sed -n 2p
par2 --version 2>&1 | head -1
git --version
getfattr --version | head -1
