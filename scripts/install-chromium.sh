#!/usr/bin/env bash
# Headless Chromium for the browser test (tests/test_browser.py), from Debian's packages. Needs root (or sudo).
# The test drives `chromium --headless` directly; nothing is downloaded at test time.
set -euo pipefail
SUDO=$([ "$(id -u)" = 0 ] && echo "" || echo sudo)
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core
