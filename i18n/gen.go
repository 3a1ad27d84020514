package i18n

// The language tables come from the MediaWiki that scripts/install-deps.sh
// installs for the tests (1.43 LTS); point -mw at another installation to
// follow a newer MediaWiki.
//go:generate go run ./internal/gen -mw /var/lib/wikimod/mediawiki-1.43/usr/share/mediawiki -o fallbacks_gen.go
