package commands

import (
	"slices"
	"sort"
	"time"

	"github.com/wikimod/wikimod/mw"
)

// ProtectChange is one protection type a moderator names: its level ("all"
// lifts it) and its expiry as given ("1 week", an ISO time, "infinite").
type ProtectChange struct {
	Type   string
	Level  string
	Expiry string
}

// ProtectPlan is the action=protect request that applies some changes to a
// page's protections. The API sets a page's whole protection: a type left
// out is lifted. So that a moderator who names one type changes only that
// type, the plan sends every other protection the page holds again, with
// its own level and expiry.
type ProtectPlan struct {
	Protections []mw.Protection
	Expiry      []string // one per protection
	Cascade     bool
	// Kept are the page's protections sent again as they are.
	Kept []mw.PageProtection
	// Lifted are the types the page had that the plan removes.
	Lifted []string
	// CascadeEnds is set when the page cascaded and nothing left allows it.
	CascadeEnds bool
}

// PlanProtect plans the changes against the page's current protections.
// With exact, the page ends with exactly the named types (the API's own
// behaviour); otherwise the types not named are kept. cascade is the
// moderator's explicit choice, or nil to keep the page's. cascadingLevels
// are the levels the wiki allows cascading with.
func PlanProtect(current []mw.PageProtection, changes []ProtectChange, exact bool, cascade *bool, cascadingLevels []string) ProtectPlan {
	var p ProtectPlan
	named := map[string]bool{}
	for _, c := range changes {
		named[c.Type] = true
	}
	had := map[string]bool{}
	wasCascading := false
	for _, cur := range current {
		had[cur.Type] = true
		wasCascading = wasCascading || cur.Cascade
		switch {
		case named[cur.Type]:
		case exact:
			p.Lifted = append(p.Lifted, cur.Type)
		default:
			p.Kept = append(p.Kept, cur)
			p.Protections = append(p.Protections, mw.Protection{Action: cur.Type, Level: cur.Level})
			p.Expiry = append(p.Expiry, apiExpiry(cur.Expiry))
		}
	}
	for _, c := range changes {
		if isLift(c.Level) {
			if had[c.Type] {
				p.Lifted = append(p.Lifted, c.Type)
			}
			// Sent as type=all, so the wiki lifts it even in exact mode.
			p.Protections = append(p.Protections, mw.Protection{Action: c.Type, Level: "all"})
			p.Expiry = append(p.Expiry, "infinite")
			continue
		}
		p.Protections = append(p.Protections, mw.Protection{Action: c.Type, Level: c.Level})
		p.Expiry = append(p.Expiry, c.Expiry)
	}
	sort.Strings(p.Lifted)
	switch {
	case cascade != nil:
		p.Cascade = *cascade
	case !exact:
		p.Cascade = wasCascading
	}
	if p.Cascade && !cascadeAllowed(p.Protections, cascadingLevels) {
		p.Cascade = false
		p.CascadeEnds = wasCascading
	}
	return p
}

// Levels returns the levels the plan sets, lifted ones left out.
func (p ProtectPlan) Levels() []string {
	var out []string
	for _, pr := range p.Protections {
		if !isLift(pr.Level) {
			out = append(out, pr.Level)
		}
	}
	return out
}

func cascadeAllowed(ps []mw.Protection, cascadingLevels []string) bool {
	for _, pr := range ps {
		if !isLift(pr.Level) && slices.Contains(cascadingLevels, pr.Level) {
			return true
		}
	}
	return false
}

func isLift(level string) bool { return level == "" || level == "all" }

// apiExpiry turns an expiry as prop=info spells it ("infinity") into one
// action=protect takes.
func apiExpiry(e string) string {
	if e == "" || e == "infinity" || e == "infinite" {
		return "infinite"
	}
	return e
}

// sameExpiry compares two expiries as the wiki gives them.
func sameExpiry(a, b string) bool {
	a, b = apiExpiry(a), apiExpiry(b)
	if a == b {
		return true
	}
	ta, errA := time.Parse(time.RFC3339, a)
	tb, errB := time.Parse(time.RFC3339, b)
	return errA == nil && errB == nil && ta.Equal(tb)
}
