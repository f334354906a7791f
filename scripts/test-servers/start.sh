#!/usr/bin/env bash
# start.sh: starts real servers for the backend tests, on 127.0.0.1 only:
#   - S3: a single-node Ceph (monitor + in-memory "memstore" OSD) with the RADOS Gateway,
#     storage classes STANDARD_IA and GLACIER, and a test user with fixed keys;
#   - WebDAV: Apache httpd with mod_dav_fs under its own ServerRoot, Basic auth (htpasswd).
# Waits until both answer, then writes the STRATA_TEST_* variables to scripts/test-servers/.env
# (source it before running the tests). Running it again restarts both servers from scratch.
# Ports: STRATA_TEST_RGW_PORT (7480), STRATA_TEST_DAV_PORT (8081), STRATA_TEST_DAV_TLS_PORT (8444, HTTPS),
# STRATA_TEST_MON_PORT (6789).
# Data: STRATA_TEST_SERVERS_DIR (/var/tmp/strata-test-servers). Run install.sh first.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BASE=${STRATA_TEST_SERVERS_DIR:-/var/tmp/strata-test-servers}
RGW_PORT=${STRATA_TEST_RGW_PORT:-7480}
DAV_PORT=${STRATA_TEST_DAV_PORT:-8081}
DAV_TLS_PORT=${STRATA_TEST_DAV_TLS_PORT:-8444}
MON_PORT=${STRATA_TEST_MON_PORT:-6789}
S3_KEY=${STRATA_TEST_S3_KEY:-STRATATESTKEY0000001}
S3_SECRET=${STRATA_TEST_S3_SECRET:-strataTestSecretKey0000000000000000000001}
DAV_USER=${STRATA_TEST_WEBDAV_USER:-strata}
DAV_PASS=${STRATA_TEST_WEBDAV_PASS:-strataDavPass1}
MEMSTORE_BYTES=${STRATA_TEST_MEMSTORE_BYTES:-2147483648}
for tool in ceph-mon ceph-osd radosgw radosgw-admin monmaptool ceph-authtool apache2 htpasswd curl uuidgen; do
  command -v "$tool" >/dev/null || { echo "start.sh: $tool is missing; run $HERE/install.sh" >&2; exit 1; }
done

# A second run replaces the first: stop whatever we started before (by pid file) and start clean.
bash "$HERE/stop.sh"
T0=$(date +%s.%N)

# Monitor commands right after the monitor starts sometimes fail (EPERM / "wrong fsid"): retry.
retry() { local i; for i in $(seq 20); do timeout 20 "$@" && return 0; sleep 1; done; timeout 20 "$@"; }
wait_http() { # url tries: succeeds once the server answers anything over HTTP
  local i; for i in $(seq "$2"); do curl -s -o /dev/null --max-time 2 "$1" && return 0; sleep 0.25; done; return 1
}
fail() { echo "start.sh: $*" >&2; echo "logs: $BASE/ceph/log, $BASE/dav/logs" >&2; bash "$HERE/stop.sh"; exit 1; }

# ---------------------------------------------------------------- Ceph + RADOS Gateway (S3)
C=$BASE/ceph
rm -rf "$C"; mkdir -p "$C"/{run,log,mon.a,osd.0}
chmod 755 "$BASE"
FSID=$(uuidgen)
export CEPH_CONF=$C/ceph.conf
cat > "$CEPH_CONF" <<CONF
[global]
fsid = $FSID
mon host = v1:127.0.0.1:$MON_PORT
mon initial members = a
auth cluster required = none
auth service required = none
auth client required = none
auth allow insecure global id reclaim = true
run dir = $C/run
log file = $C/log/\$name.log
admin socket = $C/run/\$name.asok
pid file = $C/run/\$name.pid
keyring = $C/keyring
ms bind ipv6 = false
ms bind msgr2 = false
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon max pg per osd = 1000
mon allow pool size one = true
mon allow pool delete = true
mon data avail warn = 1
mon data avail crit = 0
osd crush chooseleaf type = 0
[mon.a]
mon data = $C/mon.a
public addr = 127.0.0.1:$MON_PORT
[osd]
osd objectstore = memstore
memstore device bytes = $MEMSTORE_BYTES
osd data = $C/osd.\$id
osd max object size = 134217728
# The OSD's own start-up monitor commands are racy (sometimes sent with a zero fsid): do them here.
osd crush update on start = false
osd class update on start = false
[client.rgw.a]
rgw frontends = beast endpoint=127.0.0.1:$RGW_PORT
rgw dns name = localhost
rgw enable usage log = false
# Lifecycle tests: a lifecycle "day" lasts 10 seconds and the lifecycle thread may work at any hour
# and looks for due buckets every 10 seconds.
rgw lc debug interval = 10
rgw lifecycle work time = 00:00-23:59
log file = $C/log/rgw.log
CONF
ceph-authtool --create-keyring "$C/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
monmaptool --create --add a "127.0.0.1:$MON_PORT" --fsid "$FSID" "$C/monmap" >/dev/null
ceph-mon --mkfs -i a --monmap "$C/monmap" --keyring "$C/keyring"
ceph-mon -i a || fail "ceph-mon did not start (port $MON_PORT in use?)"
ok=0; for i in $(seq 60); do timeout 5 ceph mon stat >/dev/null 2>&1 && { ok=1; break; }; sleep 0.5; done
[ $ok = 1 ] || fail "the Ceph monitor does not answer"
OSD_UUID=$(uuidgen)
retry ceph osd new "$OSD_UUID" >/dev/null || fail "ceph osd new failed"
retry ceph osd crush add osd.0 1.0 root=default >/dev/null 2>&1 || fail "ceph osd crush add failed"
ceph-osd -i 0 --mkfs --osd-uuid "$OSD_UUID" >/dev/null 2>&1
retry ceph-osd -i 0 >>"$C/log/start.log" 2>&1 || fail "ceph-osd did not start"
ok=0; for i in $(seq 120); do timeout 5 ceph osd stat 2>/dev/null | grep -q "1 up" && { ok=1; break; }; sleep 0.5; done
[ $ok = 1 ] || fail "the OSD did not come up"
radosgw -n client.rgw.a || fail "radosgw did not start"
wait_http "http://127.0.0.1:$RGW_PORT/" 480 || fail "the RADOS gateway does not answer on port $RGW_PORT"
# Storage classes other than STANDARD are refused (400 InvalidArgument) until added to the placement
# target; the gateway reads placement only at start, so restart it afterwards.
for SC in STANDARD_IA GLACIER GLACIER_IR DEEP_ARCHIVE; do
  retry radosgw-admin zonegroup placement add --rgw-zonegroup default --placement-id default-placement --storage-class "$SC" >/dev/null 2>&1 || fail "adding storage class $SC failed"
  retry radosgw-admin zone placement add --rgw-zone default --placement-id default-placement --storage-class "$SC" --data-pool "default.rgw.${SC,,}.data" >/dev/null 2>&1 || fail "adding storage class $SC failed"
done
retry radosgw-admin user create --uid=strata-test --display-name=strata-test --access-key="$S3_KEY" --secret-key="$S3_SECRET" >/dev/null 2>&1 || fail "creating the S3 test user failed"
P=$(cat "$C/run/client.rgw.a.pid"); kill "$P"; while kill -0 "$P" 2>/dev/null; do sleep 0.2; done
radosgw -n client.rgw.a || fail "radosgw did not restart"
wait_http "http://127.0.0.1:$RGW_PORT/" 480 || fail "the RADOS gateway does not answer on port $RGW_PORT after restart"
T1=$(date +%s.%N)

# ---------------------------------------------------------------- Apache httpd + mod_dav (WebDAV)
W=$BASE/dav
rm -rf "$W"; mkdir -p "$W"/{logs,var,data}
chmod 755 "$W"
USERLINES=""
if [ "$(id -u)" -eq 0 ]; then
  # Apache refuses to serve as root: children run as www-data, which must own data and locks.
  USERLINES=$'User www-data\nGroup www-data'
  chown www-data:www-data "$W/var" "$W/data"
fi
htpasswd -cbB "$W/htpasswd" "$DAV_USER" "$DAV_PASS" >/dev/null 2>&1
chmod 644 "$W/htpasswd"
M=/usr/lib/apache2/modules
# HTTPS as well (the same DAV folder): a self-signed certificate for 127.0.0.1, which clients
# trust only when told (NODE_EXTRA_CA_CERTS for strata, --ca-cert for rclone).
openssl req -x509 -newkey rsa:2048 -nodes -days 3 -subj "/CN=127.0.0.1" \
  -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" -keyout "$W/tls.key" -out "$W/tls.crt" >/dev/null 2>&1 || fail "openssl could not make the test certificate"
chmod 644 "$W/tls.crt"
cat > "$W/httpd.conf" <<CONF
ServerRoot "$W"
ServerName 127.0.0.1
Listen 127.0.0.1:$DAV_PORT
Listen 127.0.0.1:$DAV_TLS_PORT
PidFile $W/httpd.pid
ErrorLog $W/logs/error.log
LogLevel warn
LogFormat "%h %u \"%r\" %>s %b" dav
CustomLog $W/logs/access.log dav
$USERLINES
LoadModule mpm_event_module  $M/mod_mpm_event.so
LoadModule authn_core_module $M/mod_authn_core.so
LoadModule authn_file_module $M/mod_authn_file.so
LoadModule authz_core_module $M/mod_authz_core.so
LoadModule authz_user_module $M/mod_authz_user.so
LoadModule auth_basic_module $M/mod_auth_basic.so
LoadModule mime_module       $M/mod_mime.so
LoadModule dav_module        $M/mod_dav.so
LoadModule dav_fs_module     $M/mod_dav_fs.so
LoadModule socache_shmcb_module $M/mod_socache_shmcb.so
LoadModule ssl_module        $M/mod_ssl.so
TypesConfig /etc/mime.types
DocumentRoot "$W/data"
DAVLockDB $W/var/DAVLock
LimitRequestBody 0
Timeout 300
KeepAliveTimeout 15
<Directory />
  AllowOverride None
  Require all denied
</Directory>
<Directory "$W/data">
  Dav On
  DavDepthInfinity On
  Options None
  AuthType Basic
  AuthName "strata-test"
  AuthBasicProvider file
  AuthUserFile $W/htpasswd
  Require valid-user
</Directory>
<VirtualHost 127.0.0.1:$DAV_TLS_PORT>
  SSLEngine on
  SSLCertificateFile $W/tls.crt
  SSLCertificateKeyFile $W/tls.key
</VirtualHost>
CONF
apache2 -f "$W/httpd.conf" -k start || fail "apache2 did not start (port $DAV_PORT in use?)"
wait_http "http://127.0.0.1:$DAV_PORT/" 80 || fail "Apache does not answer on port $DAV_PORT"
curl -s -o /dev/null --cacert "$W/tls.crt" "https://127.0.0.1:$DAV_TLS_PORT/" || fail "Apache does not answer HTTPS on port $DAV_TLS_PORT"
T2=$(date +%s.%N)

# Virtual-host addressing (bucket.host): RGW takes the bucket from the Host header below its
# "rgw dns name" (localhost). A fixed bucket name is made to resolve to 127.0.0.1 in /etc/hosts,
# since the resolver here does not map *.localhost.
VHOST_BUCKET=strata-vhost
if ! getent hosts "$VHOST_BUCKET.localhost" >/dev/null; then
  SUDO=(); if [ "$(id -u)" -ne 0 ]; then SUDO=(sudo -n); fi
  echo "127.0.0.1 $VHOST_BUCKET.localhost" | "${SUDO[@]}" tee -a /etc/hosts >/dev/null 2>&1 \
    || fail "cannot add $VHOST_BUCKET.localhost to /etc/hosts (the virtual-host S3 test needs it; run as root, with sudo, or add the line by hand)"
fi

umask 077
cat > "$HERE/.env" <<ENV
# Written by scripts/test-servers/start.sh; source it before running the backend tests.
export STRATA_TEST_S3_ENDPOINT=http://127.0.0.1:$RGW_PORT
export STRATA_TEST_S3_KEY=$S3_KEY
export STRATA_TEST_S3_SECRET=$S3_SECRET
export STRATA_TEST_S3_VHOST_ENDPOINT=http://localhost:$RGW_PORT
export STRATA_TEST_S3_VHOST_BUCKET=$VHOST_BUCKET
export STRATA_TEST_WEBDAV_URL=http://127.0.0.1:$DAV_PORT/
export STRATA_TEST_WEBDAV_USER=$DAV_USER
export STRATA_TEST_WEBDAV_PASS=$DAV_PASS
export STRATA_TEST_WEBDAV_TLS_URL=https://127.0.0.1:$DAV_TLS_PORT/
export STRATA_TEST_WEBDAV_CA=$W/tls.crt
# Where the servers keep their bytes (tests grep them): Ceph's config for rados, Apache's DAV root.
export STRATA_TEST_CEPH_CONF=$CEPH_CONF
export STRATA_TEST_WEBDAV_ROOT=$W/data
ENV
awk -v a="$T0" -v b="$T1" -v c="$T2" -v rp="$RGW_PORT" -v dp="$DAV_PORT" -v env="$HERE/.env" 'BEGIN {
  printf "test servers up: S3 on 127.0.0.1:%s (%.1f s), WebDAV on 127.0.0.1:%s (%.1f s); variables in %s\n", rp, b - a, dp, c - b, env }'
