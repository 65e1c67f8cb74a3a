#!/usr/bin/env bash
# System packages the test suite needs (Debian). Idempotent and quick when already installed:
#   - dovecot-imapd: a throwaway local IMAP server for tests/test_mail_imap.py.
# Python test packages (respx, responses, aiosmtpd) come from pyproject.toml's `dev` extra.
# Run as root (CI and the dev machines are root), or with sudo available.
set -euo pipefail

need=()
if ! command -v dovecot >/dev/null 2>&1 && [ ! -x /usr/sbin/dovecot ]; then
    need+=(dovecot-imapd)
fi

if [ ${#need[@]} -eq 0 ]; then
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
# The package enables and starts a system-wide dovecot; the tests run their own instance on a
# free loopback port, so the system one is not needed. Stopping it is best effort.
if command -v systemctl >/dev/null 2>&1; then
    $SUDO systemctl disable --now dovecot >/dev/null 2>&1 || true
fi
