#!/usr/bin/env bash
# Installs what wikimod's demo and tests need on a fresh Debian machine:
# MediaWiki and PHP from Debian's packages (for the throwaway wiki), and the
# Go modules. Safe to run again: it skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
[ -f /usr/share/mediawiki/maintenance/install.php ] || need_apt+=(mediawiki)
command -v php >/dev/null 2>&1 || need_apt+=(php-cli)
if command -v php >/dev/null 2>&1; then
  for ext in pdo_sqlite intl mbstring xml; do
    php -m 2>/dev/null | grep -qix "$ext" || need_apt+=("php-${ext/pdo_/}")
  done
fi
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "Installing MediaWiki and PHP from Debian's packages..."
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    mediawiki php-cli php-sqlite3 php-intl php-mbstring php-xml >/dev/null
fi

command -v go >/dev/null 2>&1 || { echo "Go is not installed: install Go 1.26 or newer first (slack-go needs it)." >&2; exit 1; }
command -v gcc >/dev/null 2>&1 || { echo "gcc is needed for go-sqlite3 (cgo): apt-get install gcc" >&2; exit 1; }
go mod download
