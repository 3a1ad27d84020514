#!/usr/bin/env bash
# Installs what wikimod's demo and tests need on a Debian bookworm machine:
# the MediaWiki they run against, PostgreSQL, and the Go modules.
#
#   scripts/install-deps.sh [VERSION...]
#
# VERSION is a MediaWiki release series, 1.43 or 1.39; without one it is
# $WIKIMOD_MEDIAWIKI, else 1.43 (the LTS wikis run today).
#   1.39  Debian bookworm's own mediawiki and PHP 8.2 packages, on this machine.
#   1.43  Debian trixie's mediawiki and PHP 8.4 packages, in a Debian root of
#         their own that debootstrap builds once per machine in
#         /var/lib/wikimod/mediawiki-1.43 (about 700 MB, a minute). The
#         tests run PHP chrooted there; see internal/devwiki. To rebuild it
#         (say, for a newer trixie point release), delete that folder.
#
# PostgreSQL is Debian's postgresql package (server and client), whatever
# the VERSION: the storage tests start a throwaway server of their own
# from its programs (see internal/pgtest), not the package's.
#
# Safe to run again: it checks without root and says nothing when everything
# is there. What is missing it installs as root, using sudo when not root.
set -euo pipefail
cd "$(dirname "$0")/.."

state=/var/lib/wikimod
root143=$state/mediawiki-1.43
# Packages of the throwaway wiki, the same for both releases.
mw_packages=(mediawiki php-cli php-sqlite3 php-intl php-mbstring php-xml)

# --- Checks: no root needed, no output. ---

# ready_1.39: bookworm's MediaWiki and the PHP modules it needs are installed.
ready_1.39() {
  [ -f /usr/share/mediawiki/maintenance/install.php ] || return 1
  command -v php >/dev/null 2>&1 || return 1
  # Keep php -m's whole output before looking in it: "php -m | grep -q" fails
  # under pipefail when grep stops reading early and php gets SIGPIPE.
  local modules ext
  modules=$'\n'$(php -m 2>/dev/null)$'\n' || return 1
  modules=${modules,,}
  for ext in pdo_sqlite intl mbstring xml; do
    [[ $modules == *$'\n'"$ext"$'\n'* ]] || return 1
  done
}

# ready_1.43: the trixie root exists and holds every package. dpkg-query
# reads the root's package database from outside, so no chroot (no root).
ready_1.43() {
  [ -d "$root143/srv/wiki" ] && [ -x "$root143/usr/bin/php" ] || return 1
  local status want
  status=$(dpkg-query --admindir="$root143/var/lib/dpkg" -W -f '${db:Status-Status} ' "${mw_packages[@]}" 2>/dev/null) || return 1
  want=$(printf 'installed %.0s' "${mw_packages[@]}")
  [ "$status" = "$want" ]
}

# ready_postgres: a PostgreSQL server's programs, where internal/pgtest
# looks for them, and the client.
ready_postgres() {
  compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || return 1
  command -v psql >/dev/null 2>&1
}

# --- Installs: run as root, one at a time (see --system below). ---

# quietly runs a command with its output in a log, and shows the log's end
# only when it fails: apt and debootstrap are chatty.
quietly() {
  local log status=0
  log=$(mktemp)
  "$@" >"$log" 2>&1 || status=$?
  if [ "$status" -ne 0 ]; then
    tail -20 "$log" >&2
    echo "failed ($status): $*; full log in $log" >&2
    exit 1
  fi
  rm -f "$log"
}

apt_updated=""
host_apt_install() {
  if [ -z "$apt_updated" ]; then
    quietly apt-get update
    apt_updated=1
  fi
  quietly env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@"
}

install_1.39() {
  echo "Installing MediaWiki 1.39 and PHP from Debian bookworm's packages..."
  host_apt_install "${mw_packages[@]}"
}

install_1.43() {
  echo "Installing MediaWiki 1.43 and PHP 8.4 from Debian trixie's packages into $root143..."
  command -v debootstrap >/dev/null 2>&1 || host_apt_install debootstrap
  if [ ! -d "$root143" ]; then
    # Build in a side folder and rename it when complete, so an interrupted
    # run leaves no half-made root behind that looks finished.
    local partial=$root143.partial
    remove_tree "$partial"
    # Without a mirror argument debootstrap uses Debian's default one;
    # WIKIMOD_DEBIAN_MIRROR names another (a local mirror, say).
    echo "  debootstrap trixie (about 25 s)..."
    quietly debootstrap --variant=minbase trixie "$partial" ${WIKIMOD_DEBIAN_MIRROR:+"$WIKIMOD_DEBIAN_MIRROR"}
    mv "$partial" "$root143"
  fi
  # Debian's mediawiki package pulls in Apache; no service may start in the
  # root, neither now nor on a later upgrade.
  printf '#!/bin/sh\n# Added by wikimod: start no services in this root.\nexit 101\n' >"$root143/usr/sbin/policy-rc.d"
  chmod 755 "$root143/usr/sbin/policy-rc.d"
  echo "  apt-get install ${mw_packages[*]} (about 30 s)..."
  quietly chroot "$root143" apt-get update
  quietly chroot "$root143" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends "${mw_packages[@]}"
  quietly chroot "$root143" apt-get clean # the downloaded .deb files: 200 MB
  # Each wiki's folder is bound here, in a mount namespace of its own.
  mkdir -p "$root143/srv/wiki"
  echo "  $(chroot "$root143" dpkg-query -W -f 'mediawiki ${Version}' mediawiki) is ready."
}

install_postgres() {
  echo "Installing PostgreSQL from Debian bookworm's packages..."
  host_apt_install postgresql postgresql-client
}

# remove_tree deletes a folder that debootstrap may have left with /proc or
# /sys still mounted inside: it unmounts those first and never crosses into
# another file system.
remove_tree() {
  [ -e "$1" ] || return 0
  local target
  { findmnt -rn -o TARGET | grep -F "$1/" || true; } | sort -r | while read -r target; do
    umount -l "$target"
  done
  rm -rf --one-file-system "$1"
}

# install_system installs what the given versions (and postgres) lack. It
# holds a lock, so that two runs (two terminals, two CI steps) do not build
# the root at once.
install_system() {
  mkdir -p "$state"
  exec 9>"$state/.install.lock"
  flock 9
  local v
  for v in "$@"; do
    "ready_$v" || "install_$v"
  done
  exec 9>&-
}

# The root part, run by this script itself through sudo when not root.
if [ "${1:-}" = --system ]; then
  shift
  install_system "$@"
  exit 0
fi

# --- Main. ---

versions=("$@")
[ ${#versions[@]} -gt 0 ] || versions=("${WIKIMOD_MEDIAWIKI:-1.43}")
missing=()
for v in "${versions[@]}"; do
  case $v in
    1.39|1.43) "ready_$v" || missing+=("$v") ;;
    *) echo "MediaWiki $v: choose 1.43 or 1.39 (WIKIMOD_MEDIAWIKI)" >&2; exit 2 ;;
  esac
done
ready_postgres || missing+=(postgres)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    install_system "${missing[@]}"
  else
    # sudo drops the environment; pass on the one variable the root part reads.
    sudo env WIKIMOD_DEBIAN_MIRROR="${WIKIMOD_DEBIAN_MIRROR:-}" "$BASH" "$PWD/scripts/install-deps.sh" --system "${missing[@]}"
  fi
fi

command -v go >/dev/null 2>&1 || { echo "Go is not installed: install Go 1.26 or newer first (slack-go needs it)." >&2; exit 1; }
command -v gcc >/dev/null 2>&1 || { echo "gcc is needed for go-sqlite3 (cgo): apt-get install gcc" >&2; exit 1; }
go mod download
