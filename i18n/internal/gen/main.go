// Command gen writes ../../fallbacks_gen.go, the language data package i18n
// takes from MediaWiki: each language's fallback chain (the $fallback of
// languages/messages/Messages*.php), every language's autonym (Names.php)
// and the code aliases of LanguageCode.php. It reads an installed MediaWiki
// rather than hand-copied lists, so that the bot falls back exactly as the
// wiki does and a MediaWiki upgrade is one `go generate` away.
//
// Usage (from the i18n directory):
//
//	go run ./internal/gen -mw /usr/share/mediawiki [-o fallbacks_gen.go]
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"go/format"
	"io/fs"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

func main() {
	mw := flag.String("mw", "", "the MediaWiki installation to read (the directory holding languages/)")
	out := flag.String("o", "fallbacks_gen.go", "the Go file to write")
	flag.Parse()
	if *mw == "" {
		fmt.Fprintln(os.Stderr, "gen: -mw DIR is required")
		os.Exit(2)
	}
	src, err := Generate(os.DirFS(*mw))
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
	if err := os.WriteFile(*out, src, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

// Data is what the generator reads from one MediaWiki installation.
type Data struct {
	Version     string              // MW_VERSION, e.g. "1.43.9"
	Fallbacks   map[string][]string // code → $fallback, as written
	Names       map[string]string   // code → autonym
	Deprecated  map[string]string   // deprecated code → its replacement
	NonStandard map[string]string   // internal code → its BCP 47 form
}

// The places these files have lived: 1.43 moved Names.php under includes/.
var (
	namesPaths        = []string{"includes/languages/data/Names.php", "languages/data/Names.php"}
	languageCodePaths = []string{"includes/language/LanguageCode.php", "languages/LanguageCode.php"}
	definesPaths      = []string{"includes/Defines.php"}
)

var (
	fallbackRE    = regexp.MustCompile(`(?m)^\s*\$fallback\s*=\s*(?:'([^']*)'|"([^"]*)")\s*;`)
	nameRE        = regexp.MustCompile(`(?m)^\s*'([a-z0-9-]+)'\s*=>\s*'((?:[^'\\]|\\.)*)'`)
	pairRE        = regexp.MustCompile(`'([A-Za-z0-9-]+)'\s*=>\s*'([A-Za-z0-9-]+)'`)
	versionRE     = regexp.MustCompile(`define\(\s*'MW_VERSION',\s*'([^']+)'`)
	messagesFile  = regexp.MustCompile(`^Messages([A-Z][A-Za-z0-9_]*)\.php$`)
	phpUnescapeRE = regexp.MustCompile(`\\(['\\])`)
)

// Read collects the language data of the MediaWiki in fsys.
func Read(fsys fs.FS) (*Data, error) {
	d := &Data{Fallbacks: map[string][]string{}}
	files, err := fs.ReadDir(fsys, "languages/messages")
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		m := messagesFile.FindStringSubmatch(f.Name())
		if m == nil {
			continue
		}
		// MediaWiki names the file 'Messages' . ucfirst( str_replace( '-', '_', $code ) ).
		code := strings.ToLower(strings.ReplaceAll(m[1], "_", "-"))
		b, err := fs.ReadFile(fsys, "languages/messages/"+f.Name())
		if err != nil {
			return nil, err
		}
		all := fallbackRE.FindAllSubmatch(b, -1)
		if len(all) > 1 {
			return nil, fmt.Errorf("%s sets $fallback %d times", f.Name(), len(all))
		}
		if len(all) == 0 {
			continue
		}
		list := string(all[0][1]) + string(all[0][2])
		var chain []string
		for _, c := range strings.Split(list, ",") {
			if c = strings.TrimSpace(c); c != "" {
				chain = append(chain, c)
			}
		}
		d.Fallbacks[code] = chain
	}
	if len(d.Fallbacks) == 0 {
		return nil, errors.New("no $fallback found in languages/messages")
	}

	names, err := readFirst(fsys, namesPaths)
	if err != nil {
		return nil, err
	}
	d.Names = map[string]string{}
	for _, m := range nameRE.FindAllSubmatch(names, -1) {
		d.Names[string(m[1])] = phpUnescapeRE.ReplaceAllString(string(m[2]), "$1")
	}
	if d.Names["en"] != "English" {
		return nil, errors.New("Names.php: no autonym for en; has its format changed?")
	}

	code, err := readFirst(fsys, languageCodePaths)
	if err != nil {
		return nil, err
	}
	if d.Deprecated, err = constMap(code, "DEPRECATED_LANGUAGE_CODE_MAPPING"); err != nil {
		return nil, err
	}
	if d.NonStandard, err = constMap(code, "NON_STANDARD_LANGUAGE_CODE_MAPPING"); err != nil {
		return nil, err
	}

	defines, err := readFirst(fsys, definesPaths)
	if err != nil {
		return nil, err
	}
	m := versionRE.FindSubmatch(defines)
	if m == nil {
		return nil, errors.New("Defines.php: no MW_VERSION")
	}
	d.Version = string(m[1])
	return d, nil
}

// constMap reads a PHP constant array of string pairs out of a class.
func constMap(src []byte, name string) (map[string]string, error) {
	i := bytes.Index(src, []byte(name+" = ["))
	if i < 0 {
		return nil, fmt.Errorf("LanguageCode.php: no %s", name)
	}
	body := src[i:]
	end := bytes.Index(body, []byte("];"))
	if end < 0 {
		return nil, fmt.Errorf("LanguageCode.php: %s does not end", name)
	}
	body = body[:end]
	out := map[string]string{}
	for _, line := range bytes.Split(body, []byte("\n")) {
		if j := bytes.Index(line, []byte("//")); j >= 0 {
			line = line[:j]
		}
		for _, m := range pairRE.FindAllSubmatch(line, -1) {
			out[string(m[1])] = string(m[2])
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("LanguageCode.php: %s is empty", name)
	}
	return out, nil
}

func readFirst(fsys fs.FS, paths []string) ([]byte, error) {
	for _, p := range paths {
		b, err := fs.ReadFile(fsys, p)
		if err == nil {
			return b, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	return nil, fmt.Errorf("none of %s found", strings.Join(paths, ", "))
}

// Generate returns the formatted source of fallbacks_gen.go for the
// MediaWiki in fsys.
func Generate(fsys fs.FS) ([]byte, error) {
	d, err := Read(fsys)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "// Code generated by go run ./internal/gen from MediaWiki %s; DO NOT EDIT.\n\n", d.Version)
	b.WriteString("package i18n\n\n")
	fmt.Fprintf(&b, "// mediaWikiVersion is the MediaWiki these tables were read from.\n")
	fmt.Fprintf(&b, "const mediaWikiVersion = %q\n\n", d.Version)

	b.WriteString("// fallbackChains holds MediaWiki's fallback sequence of each language that\n")
	b.WriteString("// has one ($fallback in languages/messages/Messages*.php, with \"en\" appended\n")
	b.WriteString("// as LocalisationCache does). A language missing here falls back to \"en\".\n")
	b.WriteString("var fallbackChains = map[string][]string{\n")
	for _, code := range sortedKeys(d.Fallbacks) {
		chain := append([]string(nil), d.Fallbacks[code]...)
		if len(chain) == 0 || chain[len(chain)-1] != "en" {
			chain = append(chain, "en")
		}
		if code == "en" || (len(chain) == 1 && chain[0] == "en") {
			continue
		}
		fmt.Fprintf(&b, "\t%q: {", code)
		for i, c := range chain {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(strconv.Quote(c))
		}
		b.WriteString("},\n")
	}
	b.WriteString("}\n\n")

	b.WriteString("// autonyms names every language MediaWiki knows in that language (Names.php).\n")
	b.WriteString("var autonyms = map[string]string{\n")
	for _, code := range sortedKeys(d.Names) {
		fmt.Fprintf(&b, "\t%q: %q,\n", code, d.Names[code])
	}
	b.WriteString("}\n\n")

	b.WriteString("// deprecatedCodes maps codes MediaWiki no longer uses to their replacements\n")
	b.WriteString("// (LanguageCode::DEPRECATED_LANGUAGE_CODE_MAPPING).\n")
	b.WriteString("var deprecatedCodes = map[string]string{\n")
	for _, code := range sortedKeys(d.Deprecated) {
		fmt.Fprintf(&b, "\t%q: %q,\n", code, d.Deprecated[code])
	}
	b.WriteString("}\n\n")

	b.WriteString("// bcp47Codes maps MediaWiki's internal codes that are not BCP 47 to their\n")
	b.WriteString("// BCP 47 form (LanguageCode::NON_STANDARD_LANGUAGE_CODE_MAPPING).\n")
	b.WriteString("var bcp47Codes = map[string]string{\n")
	for _, code := range sortedKeys(d.NonStandard) {
		fmt.Fprintf(&b, "\t%q: %q,\n", code, d.NonStandard[code])
	}
	b.WriteString("}\n")
	return format.Source(b.Bytes())
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
