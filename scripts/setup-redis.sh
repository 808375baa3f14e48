#!/bin/sh
# Installs Debian's redis-server for the queue's integration tests (test/queue/), which start
# their own throwaway redis-server on a free loopback port (test/queue/real-redis.ts). Idempotent
# and quiet: does nothing when redis-server is already on the PATH. Needs root (apt-get); the
# package lists are refreshed only when the first install attempt cannot find the package.
#
# The package's system service is not wanted (the tests never use it): policy-rc.d keeps the
# install from starting it where the package would, and nothing here enables or starts it.
set -eu

if command -v redis-server >/dev/null 2>&1; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "setup-redis: redis-server is missing and installing it needs root: sudo $0" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "setup-redis: redis-server is missing and apt-get is not available; install Redis 7 so that redis-server is on the PATH" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
# Exit code 101 tells invoke-rc.d not to start services during this install; an existing
# policy-rc.d is left as it was.
POLICY=/usr/sbin/policy-rc.d
OWN_POLICY=0
if [ ! -e "$POLICY" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$POLICY"
  chmod 755 "$POLICY"
  OWN_POLICY=1
fi
cleanup() {
  if [ "$OWN_POLICY" -eq 1 ]; then rm -f "$POLICY"; fi
}
trap cleanup EXIT

install() {
  apt-get install -y -qq --no-install-recommends redis-server >/dev/null 2>&1
}
if ! install; then
  apt-get update -qq >/dev/null 2>&1 || true
  if ! install; then
    # Show apt's own error this time.
    apt-get install -y -q --no-install-recommends redis-server >&2 || true
    echo "setup-redis: could not install redis-server with apt-get" >&2
    exit 1
  fi
fi

if ! command -v redis-server >/dev/null 2>&1; then
  echo "setup-redis: redis-server installed but not on the PATH" >&2
  exit 1
fi
echo "setup-redis: installed $(redis-server --version 2>/dev/null | cut -d' ' -f1-3)"
