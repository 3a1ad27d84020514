#!/usr/bin/env bash
# Runs wikimod's whole test suite on a fresh machine: installs MediaWiki, PHP
# and the Go modules, then vets and tests every package. The tests that touch
# the wiki start their own throwaway MediaWiki on a loopback port.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change:"; echo "$unformatted"; exit 1
fi
go vet ./...
go test -race -count=1 -timeout 20m "$@" ./...
