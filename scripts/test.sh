#!/usr/bin/env bash
# Runs wikimod's whole test suite on a fresh machine: installs MediaWiki, PHP
# and the Go modules, then vets and tests every package. The tests that touch
# the wiki start their own throwaway MediaWiki on a loopback port.
#
#   WIKIMOD_MEDIAWIKI=1.43 scripts/test.sh [go test flags...]
#
# WIKIMOD_MEDIAWIKI picks the MediaWiki release the suite runs against:
# 1.43 (the default) or 1.39. WIKIMOD_SKIP_LINT=1 skips gofmt and go vet,
# for a second run of the same code against another release (see .ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
export WIKIMOD_MEDIAWIKI="${WIKIMOD_MEDIAWIKI:-1.43}"
scripts/install-deps.sh

# Say which MediaWiki this run uses: go test shows the tests' own output
# (devwiki prints the wiki's version there) only for failing packages.
case $WIKIMOD_MEDIAWIKI in
  1.43) pkg=$(dpkg-query --admindir=/var/lib/wikimod/mediawiki-1.43/var/lib/dpkg -W -f '${Version}' mediawiki)
        where="Debian trixie's package $pkg, PHP 8.4, chrooted in /var/lib/wikimod/mediawiki-1.43" ;;
  1.39) pkg=$(dpkg-query -W -f '${Version}' mediawiki)
        where="Debian bookworm's package $pkg, PHP 8.2, on this machine" ;;
esac
echo "=== wikimod tests against MediaWiki $WIKIMOD_MEDIAWIKI ($where) ==="

if [ "${WIKIMOD_SKIP_LINT:-}" != 1 ]; then
  unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
  if [ -n "$unformatted" ]; then
    echo "gofmt would change:"; echo "$unformatted"; exit 1
  fi
  go vet ./...
fi
start=$SECONDS
status=0
go test -race -count=1 -timeout 20m "$@" ./... || status=$?
# The language tests (issue 19) run twice more: what they keep (chosen
# languages, the wiki's words cached per language) must not leak between
# runs.
go test -count=2 -timeout 10m -run 'Language|Qqx|NoEnglish|HaveNoEnglish|Speaks|Chinese|Locale|Catalogue|EveryMessage|Shipped' "$@" ./... || status=$?
echo "=== MediaWiki $WIKIMOD_MEDIAWIKI: tests $([ $status -eq 0 ] && echo passed || echo FAILED) in $((SECONDS - start)) s ==="
exit $status
