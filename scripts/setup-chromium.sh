#!/bin/sh
# Installs Debian's chromium for the report's browser test (test/report/report-browser.test.ts),
# which drives it with playwright-core. Idempotent and quiet: does nothing when
# /usr/bin/chromium is already there. Needs root (apt-get); the package lists are refreshed
# only when the first install attempt cannot find the package.
set -eu

CHROMIUM=/usr/bin/chromium
if [ -x "$CHROMIUM" ]; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "setup-chromium: $CHROMIUM is missing and installing it needs root: sudo $0" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "setup-chromium: $CHROMIUM is missing and apt-get is not available; install Chromium so that $CHROMIUM exists" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
install() {
  # fonts-liberation (a recommendation we keep) so text renders; the other recommendations
  # (udev, upower, printing) are useless in a headless test.
  apt-get install -y -qq --no-install-recommends chromium fonts-liberation >/dev/null 2>&1
}
if ! install; then
  apt-get update -qq >/dev/null 2>&1 || true
  if ! install; then
    # Show apt's own error this time.
    apt-get install -y -q --no-install-recommends chromium fonts-liberation >&2 || true
    echo "setup-chromium: could not install chromium with apt-get" >&2
    exit 1
  fi
fi

if [ ! -x "$CHROMIUM" ]; then
  echo "setup-chromium: chromium installed but $CHROMIUM is missing" >&2
  exit 1
fi
echo "setup-chromium: installed $("$CHROMIUM" --version 2>/dev/null || echo chromium)"
