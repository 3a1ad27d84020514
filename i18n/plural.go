package i18n

import (
	"strconv"
	"strings"
	"sync"

	"golang.org/x/text/feature/plural"
	"golang.org/x/text/language"
)

// pluralRules are one language's CLDR plural rules as {{PLURAL}} uses them:
// the forms of a PLURAL are the language's categories in the order zero,
// one, two, few, many, other (MediaWiki's order, CLDR's), so a category's
// form is the one at its index.
type pluralRules struct {
	tag   language.Tag
	index [6]uint8 // plural.Form → its form's index
}

// cldrOrder is the order of categories in a PLURAL; plural.Other is 0.
var cldrOrder = [...]plural.Form{plural.Zero, plural.One, plural.Two, plural.Few, plural.Many, plural.Other}

// pluralCache holds the rules of each language code asked for. It only
// grows, and only by codes MediaWiki knows, so it stays small; reads take
// no lock.
var pluralCache sync.Map // string → *pluralRules

// rulesFor returns the plural rules for a MediaWiki language code: those
// of the first language along its fallback chain that CLDR (as x/text has
// it) knows. For "nan", which CLDR lacks, that is "zh-hant": one form.
func rulesFor(code string) *pluralRules {
	if r, ok := pluralCache.Load(code); ok {
		return r.(*pluralRules)
	}
	tag := language.English
	for _, c := range append([]string{code}, fallbackChain(code)...) {
		if t, ok := cldrTag(c); ok {
			tag = t
			break
		}
	}
	r := newPluralRules(tag)
	if Known(code) {
		pluralCache.Store(code, r)
	}
	return r
}

// cldrTag returns the BCP 47 tag of a MediaWiki code, if x/text has data
// for its language.
func cldrTag(code string) (language.Tag, bool) {
	if b, ok := bcp47Codes[code]; ok {
		code = b
	}
	// Parse keeps what it could read of a tag with unknown parts
	// ("nan-latn-pehoeji" gives "nan-Latn"); that part is what matters.
	t, _ := language.Parse(code)
	if i, _ := language.CompactIndex(t); i == 0 {
		return language.Tag{}, false // und: x/text knows nothing of it
	}
	return t, true
}

// newPluralRules learns which categories tag has by asking x/text about
// enough numbers to meet each of them: integers to a million (every CLDR
// rule looks at most at the last six digits) and decimals with one and
// two fraction digits.
func newPluralRules(tag language.Tag) *pluralRules {
	var seen [6]bool
	match := func(i, v, f int) {
		w, t := v, f
		for w > 0 && t%10 == 0 {
			w, t = w-1, t/10
		}
		seen[plural.Cardinal.MatchPlural(tag, i, v, w, f, t)] = true
	}
	for i := 0; i <= 1000; i++ {
		match(i, 0, 0)
	}
	match(1000000, 0, 0)
	for _, i := range []int{0, 1, 2, 3, 5, 11, 21, 101} {
		for f := 0; f < 10; f++ {
			match(i, 1, f)
		}
		for f := 0; f < 100; f++ {
			match(i, 2, f)
		}
	}
	r := &pluralRules{tag: tag}
	n := uint8(0)
	for _, form := range cldrOrder {
		if seen[form] || form == plural.Other {
			r.index[form] = n
			n++
		}
	}
	return r
}

// number holds the CLDR operands of a PLURAL's count.
type number struct {
	i    int    // integer digits of the absolute value (modulo 10^7 when huge, kept large)
	v, f int    // visible fraction digits: how many, and their value
	u    uint64 // the absolute value of an integer count, for explicit "N=" forms
	neg  bool   // whether the count is below zero
	frac string // a count with fraction digits as written, for explicit forms
	ok   bool   // whether it was a number at all
}

// intNumber is the number of an integer count.
func intNumber(n int64) number {
	if n < 0 {
		num := uintNumber(-uint64(n)) // right for math.MinInt64 too
		num.neg = true
		return num
	}
	return uintNumber(uint64(n))
}

// uintNumber is the number of an unsigned count.
func uintNumber(u uint64) number {
	num := number{u: u, ok: true}
	if u < 1e15 {
		num.i = int(u)
	} else {
		// x/text reads operands modulo 10,000,000; keep the value large.
		num.i = int(1e7 + u%1e7)
	}
	return num
}

// parseNumber reads a count written as text: "-12", "1.50". Digit grouping
// is not accepted; the bot writes numbers plainly.
func parseNumber(s string) number {
	s = strings.TrimSpace(s)
	digits, neg := strings.CutPrefix(s, "-")
	intPart, frac, hasFrac := strings.Cut(digits, ".")
	if intPart == "" || !allDigits(intPart) || (hasFrac && (frac == "" || !allDigits(frac))) {
		return number{}
	}
	var num number
	if u, err := strconv.ParseUint(intPart, 10, 64); err == nil {
		num = uintNumber(u)
	} else {
		num = uintNumber(1e15 + parseLast7(intPart))
	}
	num.neg = neg
	if hasFrac {
		num.frac = digits
		num.v = len(frac)
		if len(frac) > 6 {
			frac = frac[:6]
		}
		num.f, _ = strconv.Atoi(frac)
	}
	return num
}

// parseLast7 reads the last seven digits of a long run of digits.
func parseLast7(s string) uint64 {
	u, _ := strconv.ParseUint(s[len(s)-7:], 10, 64)
	return u
}

// is reports whether the count is explicit, the N of an "N=" form.
func (num number) is(explicit string) bool {
	if !num.ok || num.neg {
		return false
	}
	if num.v > 0 {
		return num.frac == explicit
	}
	var buf [20]byte
	return string(strconv.AppendUint(buf[:0], num.u, 10)) == explicit
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// form returns the index of the form for num among those of r's language.
func (r *pluralRules) form(num number) int {
	if !num.ok {
		return int(r.index[plural.Other])
	}
	w, t := num.v, num.f
	for w > 0 && t%10 == 0 {
		w, t = w-1, t/10
	}
	return int(r.index[plural.Cardinal.MatchPlural(r.tag, num.i, num.v, w, num.f, t)])
}
