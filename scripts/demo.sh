#!/usr/bin/env bash
# Starts a throwaway local MediaWiki and a wikimod console on it, ready to type
# commands into. Everything lives in .demo/ and is wiped on the next run.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
go build -o .demo-bin/wikimod ./cmd/wikimod
exec .demo-bin/wikimod demo -dir .demo "$@"
