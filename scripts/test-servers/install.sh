#!/usr/bin/env bash
# install.sh: installs what the backend test servers need (Debian/Ubuntu): Ceph RADOS Gateway
# (a real S3 server), Apache httpd with mod_dav (a real WebDAV server), rclone, curl, uuidgen.
# Idempotent and quiet: does nothing when everything is installed already.
set -euo pipefail
PKGS=(radosgw ceph-mon ceph-osd apache2 rclone curl uuid-runtime openssl)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "test-server packages already installed"
  exit 0
fi
SUDO=()
if [ "$(id -u)" -ne 0 ]; then SUDO=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
# A fresh CI image has empty package lists; refresh only when a package has no install candidate.
need_update=0
for p in "${missing[@]}"; do
  cand=$(apt-cache policy "$p" 2>/dev/null | awk '/Candidate:/ {print $2}')
  if [ -z "$cand" ] || [ "$cand" = "(none)" ]; then need_update=1; break; fi
done
if [ $need_update -eq 1 ]; then
  "${SUDO[@]}" apt-get update -qq >/dev/null
fi
echo "installing: ${missing[*]}"
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "test-server packages installed"
