#!/usr/bin/env bash
# System packages the test suite needs (Debian). Idempotent and quick when already installed:
#   - dovecot-imapd: a throwaway local IMAP server for tests/test_mail_imap.py.
#   - postgresql: the suite runs a second time on a real PostgreSQL that tests/support/postgres.py
#     starts itself (initdb + pg_ctl on a free loopback port, in a temporary folder).
# Python test packages (responses, aiosmtpd, hypothesis) come from pyproject.toml's `dev` extra.
# Run as root (CI and the dev machines are root), or with sudo available.
set -euo pipefail

need=()
if ! command -v dovecot >/dev/null 2>&1 && [ ! -x /usr/sbin/dovecot ]; then
    need+=(dovecot-imapd)
fi
if ! command -v initdb >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    need+=(postgresql)
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
# The packages enable and start system-wide services; the tests run their own instances on free
# loopback ports, so the system ones are not needed. Stopping them is best effort.
if command -v systemctl >/dev/null 2>&1; then
    $SUDO systemctl disable --now dovecot >/dev/null 2>&1 || true
    $SUDO systemctl disable --now postgresql >/dev/null 2>&1 || true
fi
