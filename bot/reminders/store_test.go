package reminders_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/wikimod/wikimod/bot/reminders"
)

var (
	now   = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	leads = []time.Duration{24 * time.Hour, time.Hour}
)

func TestBackoffRetry(t *testing.T) {
	b := reminders.Backoff{Base: time.Minute, Max: time.Hour, Attempts: 12}
	var waits []string
	for failures := 0; failures < 12; failures++ {
		next, gaveUp := b.Retry(failures, now)
		if gaveUp != (failures == 11) {
			t.Errorf("after %d failures before, gave up = %v; want it on the 12th", failures, gaveUp)
		}
		waits = append(waits, next.Sub(now).String())
	}
	if got, want := strings.Join(waits, " "), "1m0s 2m0s 4m0s 8m0s 16m0s 32m0s 1h0m0s 1h0m0s 1h0m0s 1h0m0s 1h0m0s 1h0m0s"; got != want {
		t.Errorf("waits = %s\nwant    %s", got, want)
	}
	// A wait that would overflow doubled stays at Max.
	huge := reminders.Backoff{Base: time.Nanosecond, Max: 1<<63 - 1, Attempts: 1}
	if next, _ := huge.Retry(200, time.Unix(0, 0)); next.Sub(time.Unix(0, 0)) != 1<<63-1 {
		t.Errorf("200 failures with a huge max: next in %s", next.Sub(time.Unix(0, 0)))
	}
}

func TestScheduleReminders(t *testing.T) {
	for _, c := range []struct {
		name   string
		expiry time.Duration // from now
		leads  []time.Duration
		want   string
	}{
		{"both warnings", 48 * time.Hour, leads, "0s@48h0m0s 24h0m0s@24h0m0s 1h0m0s@47h0m0s"},
		{"set for less than a day", 3 * time.Hour, leads, "0s@3h0m0s 1h0m0s@2h0m0s"},
		{"a warning due now is kept", time.Hour, leads, "0s@1h0m0s 1h0m0s@0s"},
		{"expired: the reminder at expiry only", -time.Hour, leads, "0s@-1h0m0s"},
		{"no leads", time.Hour, nil, "0s@1h0m0s"},
		{"repeats, zero and negative leads skipped", 48 * time.Hour,
			[]time.Duration{time.Hour, 0, -time.Hour, time.Hour, 2 * time.Hour}, "0s@48h0m0s 1h0m0s@47h0m0s 2h0m0s@46h0m0s"},
	} {
		var got []string
		for _, s := range reminders.ScheduleReminders(now.Add(c.expiry), c.leads, now) {
			got = append(got, fmt.Sprintf("%s@%s", s.Lead, s.At.Sub(now)))
		}
		if strings.Join(got, " ") != c.want {
			t.Errorf("%s: got %v, want %s", c.name, got, c.want)
		}
	}
}

func TestPlanPage(t *testing.T) {
	exp := now.Add(48 * time.Hour)
	tracked := []reminders.TrackedProtection{
		{ID: 1, Wiki: "en", Title: "P", Type: "create", Level: "sysop", Expiry: now.Add(-time.Hour)}, // expired
		{ID: 2, Wiki: "en", Title: "P", Type: "edit", Level: "sysop", Expiry: exp},
		{ID: 3, Wiki: "en", Title: "P", Type: "move", Level: "sysop", Expiry: exp},
		{ID: 4, Wiki: "en", Title: "P", Type: "upload", Level: "sysop", Expiry: exp},
	}
	setAt := now.Add(-time.Minute)
	want := []reminders.TrackedProtection{
		{Type: "edit", Level: "sysop", Expiry: exp, SetBy: "bob"},           // unchanged
		{Type: "move", Level: "autoconfirmed", Expiry: exp, SetBy: "bob"},   // level changed
		{Type: "upload", Level: "sysop", Expiry: exp.Add(time.Millisecond)}, // expiry changed
		{ID: 9, Type: "create", Level: "sysop", Expiry: exp, SetAt: setAt},  // expired, set again: changed
	}
	plan := reminders.PlanPage("en", "P", tracked, want, leads, now)
	if plan.Result != (reminders.ReconcileResult{Changed: 3, Unchanged: 1}) {
		t.Errorf("result = %+v", plan.Result)
	}
	var got []string
	for _, s := range plan.Track {
		p := s.Protection
		if p.Wiki != "en" || p.Title != "P" || !p.Updated.Equal(now) || p.SetAt.IsZero() {
			t.Errorf("%s: wiki %q, title %q, updated %v, set %v", p.Type, p.Wiki, p.Title, p.Updated, p.SetAt)
		}
		got = append(got, fmt.Sprintf("%s#%d=%s/%d", p.Type, p.ID, p.Level, len(s.Reminders)))
	}
	if g, w := strings.Join(got, " "), "move#3=autoconfirmed/3 upload#4=sysop/3 create#1=sysop/3"; g != w {
		t.Errorf("track = %s\nwant    %s", g, w)
	}
	if s := plan.Track[2].Protection.SetAt; !s.Equal(setAt) {
		t.Errorf("a given SetAt was replaced: %v", s)
	}
	if len(plan.Drop) != 0 {
		t.Errorf("dropped %v; nothing wanted is missing", plan.Drop)
	}

	// On a page not tracked yet: new, with the warnings there is time for.
	plan = reminders.PlanPage("en", "Q", nil, []reminders.TrackedProtection{{ID: 7, Type: "edit", Level: "sysop", Expiry: now.Add(30 * time.Minute)}}, leads, now)
	if len(plan.Track) != 1 || plan.Track[0].Protection.ID != 0 || len(plan.Track[0].Reminders) != 1 || !plan.Track[0].Protection.SetAt.Equal(now) ||
		plan.Result != (reminders.ReconcileResult{Added: 1}) {
		t.Errorf("new: %+v", plan)
	}

	// Lifted: the protections not expired are dropped, the expired one is
	// kept for its reminder at expiry.
	plan = reminders.PlanPage("en", "P", tracked, nil, leads, now)
	if fmt.Sprint(plan.Drop) != "[2 3 4]" || len(plan.Track) != 0 || plan.Result != (reminders.ReconcileResult{Removed: 3}) {
		t.Errorf("lifted: %+v", plan)
	}
	if plan := reminders.PlanPage("en", "P", tracked[1:2], want[:1], leads, now); !plan.Empty() || plan.Result.Unchanged != 1 {
		t.Errorf("unchanged: %+v", plan)
	}
}

func TestGroupReminders(t *testing.T) {
	exp, later := now.Add(time.Hour), now.Add(2*time.Hour)
	r := func(id int64, wiki, title, typ string, expiry time.Time, lead time.Duration) reminders.Reminder {
		return reminders.Reminder{ID: id, Expiry: expiry, Lead: lead,
			Protection: reminders.TrackedProtection{Wiki: wiki, Title: title, Type: typ, Expiry: expiry}}
	}
	rs := []reminders.Reminder{
		r(1, "en", "B", "move", exp, time.Hour),
		r(2, "en", "B", "edit", exp, time.Hour),
		r(3, "de", "B", "edit", exp, time.Hour), // the same page on another wiki
		r(4, "en", "A", "edit", later, time.Hour),
		r(5, "en", "A", "edit", exp, 0),
		r(6, "en", "A", "move", exp, time.Hour), // another lead time
	}
	var got []string
	for _, g := range reminders.GroupReminders(rs) {
		var ids []string
		for _, r := range g.Reminders {
			ids = append(ids, fmt.Sprint(r.ID))
		}
		got = append(got, fmt.Sprintf("%s:%s@%s-%s=%s", g.Wiki, g.Title, g.Expiry.Sub(now), g.Lead, strings.Join(ids, ",")))
	}
	want := "de:B@1h0m0s-1h0m0s=3 en:A@1h0m0s-0s=5 en:A@1h0m0s-1h0m0s=6 en:B@1h0m0s-1h0m0s=2,1 en:A@2h0m0s-1h0m0s=4"
	if strings.Join(got, " ") != want {
		t.Errorf("groups = %s\nwant     %s", strings.Join(got, " "), want)
	}
}
