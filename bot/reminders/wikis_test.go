package reminders_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wikimod/wikimod/bot/reminders"
	"github.com/wikimod/wikimod/commands"
	"github.com/wikimod/wikimod/i18n"
	"github.com/wikimod/wikimod/internal/devwiki"
	"github.com/wikimod/wikimod/internal/testenv"
	"github.com/wikimod/wikimod/internal/testwait"
	"github.com/wikimod/wikimod/mw"
)

// farm is a wikimod serving two real wikis, en (the test wiki) and de (a
// second one), with the reminders hooked into the command service and each
// wiki's notices going to an inbox of its own.
type farm struct {
	env   *testenv.Env
	s     *reminders.Scheduler
	clock *testenv.Clock
	inbox map[string]*inbox
	cfg   reminders.Config
}

func newFarm(t *testing.T, mod func(*reminders.Config)) *farm {
	t.Helper()
	second := devwiki.Need(t, wiki2)
	f := &farm{clock: testenv.NewClock(time.Now().UTC().Truncate(time.Second)), inbox: map[string]*inbox{"en": newInbox(), "de": newInbox()}}
	useClock(t, f.clock.Now)
	f.env = testenv.New(t, wiki, testenv.Options{
		Now:  f.clock.Now,
		Farm: []testenv.FarmWiki{{Name: "en", Wiki: wiki}, {Name: "de", Wiki: second}},
		OnProtect: func(ctx context.Context, a commands.Actor, r *commands.ProtectOutcome) error {
			return f.s.OnProtect(ctx, a, r)
		},
		Extra: deferredCommands(&f.s),
	})
	var wikis []reminders.Wiki
	for _, name := range []string{"en", "de"} {
		b := f.inbox[name]
		wikis = append(wikis, reminders.Wiki{Name: name, Client: f.env.Wikis[name].Client, Channels: func() []reminders.Channel {
			return []reminders.Channel{{Name: "notice-" + name, Notify: b.Notify}}
		}})
	}
	f.cfg = reminders.Config{Store: f.env.DB, Wikis: wikis, Now: f.clock.Now, Metrics: reminders.NewMetrics(f.env.Metrics.Registerer())}
	if mod != nil {
		mod(&f.cfg)
	}
	var err error
	if f.s, err = reminders.New(f.cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.s.Close() })
	return f
}

// protectOn protects title on the named wiki directly, as its own
// administrators do, not through wikimod, and returns the expiry.
func (f *farm) protectOn(t *testing.T, name, title, expiry string) time.Time {
	t.Helper()
	res, err := f.env.Wikis[name].Client.Protect(context.Background(), mw.ProtectParams{Title: title,
		Protections: []mw.Protection{{Action: "create", Level: "sysop"}}, Expiry: []string{expiry}, Reason: "farm test"})
	if err != nil {
		t.Fatal(err)
	}
	exp, err := time.Parse(time.RFC3339, res.Protections[0].Expiry)
	if err != nil {
		t.Fatal(err)
	}
	return exp
}

// tick moves the clock to at, runs one tick and returns what each wiki's
// channels got.
func (f *farm) tick(t *testing.T, at time.Time) (en, de []commands.Reply) {
	t.Helper()
	f.clock.Set(at)
	if err := f.s.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
	return f.inbox["en"].take(), f.inbox["de"].take()
}

func (f *farm) press(t *testing.T, actor commands.Actor, a commands.Action) commands.Reply {
	t.Helper()
	args := commands.Args{Named: map[string]string{}}
	for k, v := range a.Args {
		args.Named[k] = v
	}
	return f.env.Service.Execute(context.Background(), actor, a.Command, args)
}

// watch limits every wiki's tracked pages to titles: the wikis' protect
// logs hold the other tests' protections too.
func watch(titles ...string) func(*reminders.Config) {
	return func(c *reminders.Config) {
		for i := range c.Wikis {
			c.Wikis[i].Pages = titles
		}
	}
}

// later returns the later of two times.
func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// syncBoth catches each wiki's cursor up with its protect log.
func (f *farm) syncBoth(t *testing.T) {
	t.Helper()
	for _, name := range []string{"en", "de"} {
		if _, err := f.s.Sync(context.Background(), name); err != nil {
			t.Fatal(err)
		}
	}
}

// TestSameTitleOnTwoWikisIsRemindedOnEach protects the same title on two
// wikis: they are two pages with a reminder each, due in the same tick;
// each names its wiki, in the title and in the plain text, goes to that
// wiki's channels only, and carries the wiki in its buttons.
func TestSameTitleOnTwoWikisIsRemindedOnEach(t *testing.T) {
	title := testwait.Unique("Farm Page ")
	f := newFarm(t, watch(title))
	ctx := context.Background()
	f.syncBoth(t)
	expEn := f.protectOn(t, "en", title, "3 hours")
	expDe := f.protectOn(t, "de", title, "3 hours")
	f.syncBoth(t)

	en, _ := f.env.DB.PageProtections(ctx, "en", title)
	de, _ := f.env.DB.PageProtections(ctx, "de", title)
	if len(en) != 1 || len(de) != 1 || en[0].ID == de[0].ID || !en[0].Expiry.Equal(expEn) || !de[0].Expiry.Equal(expDe) ||
		!strings.HasPrefix(en[0].URL, wiki.URL) || !strings.HasPrefix(de[0].URL, wiki2.URL) {
		t.Fatalf("tracked: en %+v, de %+v", en, de)
	}

	toEn, toDe := f.tick(t, later(expEn, expDe).Add(-time.Hour))
	for name, msgs := range map[string][]commands.Reply{"en": toEn, "de": toDe} {
		m := wantOne(t, msgs, name+"'s 1-hour warning")
		if m.Wiki != name || !strings.HasPrefix(english(m.Title), "["+name+"] Protection of "+title+" expires in") ||
			!strings.HasPrefix(m.String(), "["+name+"] ") || field(m, "Page") != title {
			t.Errorf("%s's reminder: %q (wiki %q)\n%s", name, m.Title, m.Wiki, m.String())
		}
		for _, a := range m.Actions {
			if a.Args["wiki"] != name || a.Args["id"] == "" {
				t.Errorf("%s's button %q carries %v", name, a.Label, a.Args)
			}
		}
		want := map[string]string{"en": wiki.URL, "de": wiki2.URL}[name]
		if !strings.HasPrefix(m.URL, want) {
			t.Errorf("%s's reminder links to %s", name, m.URL)
		}
	}
	if audit := f.env.LastAudit(t); audit.Command != "reminder-send" || audit.Wiki == "" {
		t.Errorf("the send's audit record = %+v, want the wiki named", audit)
	}
	if en, de := f.tick(t, f.clock.Now().Add(time.Minute)); len(en)+len(de) != 0 {
		t.Errorf("sent again: %d to en, %d to de", len(en), len(de))
	}
}

// TestReminderButtonActsOnItsOwnWiki presses the buttons of two reminders
// about the same title on two wikis: a button routed to the other wiki is
// refused and changes nothing; dismissing on en leaves de reminded;
// extending on de protects de's page with a signed reason and leaves en's
// as it was.
func TestReminderButtonActsOnItsOwnWiki(t *testing.T) {
	title := testwait.Unique("Farm Button ")
	f := newFarm(t, watch(title))
	ctx := context.Background()
	f.syncBoth(t)
	expEn := f.protectOn(t, "en", title, "3 hours")
	expDe := f.protectOn(t, "de", title, "3 hours")
	f.syncBoth(t)
	toEn, toDe := f.tick(t, later(expEn, expDe).Add(-time.Hour))
	mEn, mDe := wantOne(t, toEn, "en's warning"), wantOne(t, toDe, "de's warning")

	// en's Dismiss, sent to de (as if the args were tampered with, or typed).
	wrong := mEn.Actions[1]
	wrong.Args = map[string]string{"do": wrong.Args["do"], "id": wrong.Args["id"], "wiki": "de"}
	r := f.press(t, slackAdmin, wrong)
	if r.Code != "reminder-wrong-wiki" || !strings.Contains(english(r.Text), "`en`") {
		t.Fatalf("en's reminder pressed on de: %s", r.String())
	}
	if got, want := r.Text.String(), "(wikimod-reminder-wrong-wiki: "+wrong.Args["id"]+", "+title+", en, de)"; got != want {
		t.Errorf("the refusal in qqx = %s, want %s", got, want)
	}
	if audit := f.env.LastAudit(t); audit.Command != "reminder" || audit.Wiki != "de" || audit.Code != "reminder-wrong-wiki" {
		t.Errorf("audit = %+v", audit)
	}
	rs, _ := f.env.DB.PageReminders(ctx, "en", title)
	for _, rem := range rs {
		if rem.Status == reminders.StatusDismissed {
			t.Fatalf("a refused press dismissed en's reminder %d", rem.ID)
		}
	}

	if r := f.press(t, slackAdmin, mEn.Actions[1]); !r.OK() || english(r.Title) != "[en] Reminders about "+title+" dismissed." {
		t.Fatalf("dismiss on en: %s", r.String())
	}
	if r := f.press(t, discordMod, mDe.Actions[0]); !r.OK() || english(r.Title) != "[de] Protection of "+title+" extended by 3 hours." {
		t.Fatalf("extend on de: %s", r.String())
	}
	ps, err := f.env.Wikis["de"].Client.PageProtections(ctx, title)
	if err != nil || len(ps) != 1 || ps[0].Expiry != expDe.Add(3*time.Hour).Format(time.RFC3339) {
		t.Errorf("de's protection = %+v, %v; want until %s", ps, err, expDe.Add(3*time.Hour))
	}
	if ps, _ := f.env.Wikis["en"].Client.PageProtections(ctx, title); len(ps) != 1 || ps[0].Expiry != expEn.Format(time.RFC3339) {
		t.Errorf("en's protection changed: %+v", ps)
	}
	log, err := f.env.Wikis["de"].Client.LogEvents(ctx, mw.LogEventsQuery{Type: "protect", Limit: 20})
	if err != nil {
		t.Fatal(err)
	}
	comment := "(none)"
	for _, e := range log.Events {
		if e.Title == title {
			comment = e.Comment
			break
		}
	}
	sig := f.env.Service.Signature(ctx, f.env.Wikis["de"], discordMod)
	if !strings.HasPrefix(comment, "Extended by 3 hours from a wikimod reminder: farm test") || !strings.HasSuffix(comment, sig) {
		t.Errorf("de's log comment = %q, want the extension signed by %s", comment, sig)
	}
	if audit := f.env.LastAudit(t); audit.Command != "reminder" || audit.Wiki != "de" || audit.Outcome != commands.OutcomeOK {
		t.Errorf("audit = %+v", audit)
	}

	// en's expiry passes quietly (dismissed), and so does de's old one;
	// de's new expiry is reminded on de.
	toEn, toDe = f.tick(t, later(expEn, expDe))
	wantNone(t, toEn, "en's dismissed expiry")
	wantNone(t, toDe, "de's old expiry")
	_, toDe = f.tick(t, expDe.Add(2*time.Hour))
	if m := wantOne(t, toDe, "de's new 1-hour warning"); m.Wiki != "de" {
		t.Errorf("de's new warning names %q", m.Wiki)
	}
}

// TestProtectOnAWikiIsTrackedThere runs /protect through the service on
// each wiki: each is tracked under its own wiki (from ProtectOutcome.Wiki),
// and /expiring lists only the chosen wiki's.
func TestProtectOnAWikiIsTrackedThere(t *testing.T) {
	f := newFarm(t, nil)
	ctx := context.Background()
	title := testwait.Unique("Farm Protect ")
	for _, name := range []string{"en", "de"} {
		line := fmt.Sprintf(`/protect "%s" create=sysop expiry="%d hours" wiki=%s`, title, map[string]int{"en": 3, "de": 5}[name], name)
		if r := f.env.Service.ExecuteLine(ctx, slackAdmin, line); !r.OK() {
			t.Fatalf("%s: %s", line, r.String())
		}
	}
	for name, want := range map[string]time.Duration{"en": 3 * time.Hour, "de": 5 * time.Hour} {
		ps, _ := f.env.DB.PageProtections(ctx, name, title)
		if len(ps) != 1 || ps[0].Length != want || ps[0].SetBy != "alice" {
			t.Errorf("%s tracks %+v, want one set for %s by alice", name, ps, want)
		}
	}
	for name, want := range map[string]string{"en": "3 hours", "de": "5 hours"} {
		r := f.env.Service.ExecuteLine(ctx, slackAdmin, "/expiring wiki="+name)
		v := field(r, title+" — create (create)")
		if !r.OK() || !strings.HasPrefix(english(r.Title), "["+name+"] 1 protection expires") || !strings.Contains(v, "(in "+want+")") {
			t.Errorf("/expiring wiki=%s: %s", name, r.String())
		}
	}
}

// TestSyncGoesOnWhenAWikiIsDown syncs three wikis at once: en, de frozen
// (its server takes requests and never answers), and one on a closed
// port. en's sync finishes while de's still hangs; de's ends at the sync
// timeout, and de is synced at its next slot once it answers again.
func TestSyncGoesOnWhenAWikiIsDown(t *testing.T) {
	gone, _ := mw.New(mw.Config{APIURL: "http://127.0.0.1:1/api.php"})
	const timeout = 5 * time.Second
	f := newFarm(t, func(c *reminders.Config) {
		c.SyncConcurrency, c.SyncTimeout = 2, timeout
		c.Wikis = append([]reminders.Wiki{{Name: "gone", Client: gone}}, c.Wikis...)
		c.Wikis[0].Channels = c.Wikis[1].Channels
	})
	ctx := context.Background()
	run := testwait.Unique("")
	f.syncBoth(t)
	f.protectOn(t, "en", "Sync Down En "+run, "2 days")
	f.protectOn(t, "de", "Sync Down De "+run, "2 days")

	if err := wiki2.Freeze(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { wiki2.Thaw() })
	f.clock.Add(15 * time.Minute) // one interval: every wiki's slot has come
	done := make(chan []string)
	start := time.Now()
	go func() { done <- f.s.SyncDue(ctx) }()
	var names []string
	for tracked := false; !tracked; {
		ps, _ := f.env.DB.PageProtections(ctx, "en", "Sync Down En "+run)
		tracked = len(ps) == 1
		select {
		case names = <-done:
			if !tracked {
				t.Fatalf("the syncs ended after %s without en's new protection", time.Since(start))
			}
			t.Fatalf("en's sync ended only with de's (%s): it waited for the frozen wiki", time.Since(start))
		case <-time.After(20 * time.Millisecond):
		}
	}
	if took := time.Since(start); took >= timeout {
		t.Errorf("en took %s, as long as the sync timeout", took)
	}
	names = <-done
	if took := time.Since(start); took < timeout-time.Second || took > 3*timeout {
		t.Errorf("the frozen wiki's sync ended after %s, want about %s", took, timeout)
	}
	slices.Sort(names)
	if strings.Join(names, ",") != "de,en,gone" {
		t.Errorf("synced %v, want all three", names)
	}
	for _, c := range []struct{ wiki, outcome string }{{"en", "ok"}, {"de", "failed"}, {"gone", "failed"}} {
		if got := f.env.Metrics.Value("wikimod_reminder_syncs_total", "wiki", c.wiki, "outcome", c.outcome); got != 1 {
			t.Errorf("syncs of %s %s = %v, want 1", c.wiki, c.outcome, got)
		}
	}
	if ps, _ := f.env.DB.PageProtections(ctx, "de", "Sync Down De "+run); len(ps) != 0 {
		t.Errorf("de's protection is tracked while de is frozen: %+v", ps)
	}

	if err := wiki2.Thaw(); err != nil {
		t.Fatal(err)
	}
	f.clock.Add(15 * time.Minute)
	names = f.s.SyncDue(ctx)
	slices.Sort(names)
	if strings.Join(names, ",") != "de,en,gone" {
		t.Errorf("the next interval synced %v", names)
	}
	if ps, _ := f.env.DB.PageProtections(ctx, "de", "Sync Down De "+run); len(ps) != 1 {
		t.Errorf("de's protection is not tracked once de answers again")
	}
	if got := f.env.Metrics.Value("wikimod_reminder_syncs_total", "wiki", "de", "outcome", "ok"); got != 1 {
		t.Errorf("de's good syncs = %v, want 1", got)
	}
}

// slowWiki is a wiki that takes a moment to fail every request; it counts
// the requests in flight across every client that uses it.
type slowWiki struct {
	mu       sync.Mutex
	inFlight int
	peak     int
	requests int
}

func (w *slowWiki) RoundTrip(r *http.Request) (*http.Response, error) {
	w.mu.Lock()
	w.inFlight++
	w.requests++
	w.peak = max(w.peak, w.inFlight)
	w.mu.Unlock()
	defer func() {
		w.mu.Lock()
		w.inFlight--
		w.mu.Unlock()
	}()
	select {
	case <-time.After(30 * time.Millisecond):
	case <-r.Context().Done():
	}
	return nil, errors.New("slow wiki: down")
}

func (w *slowWiki) stats() (peak, requests int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	p := w.peak
	w.peak = 0
	return p, w.requests
}

// TestSyncsAreSpreadAndBounded schedules twelve wikis' syncs with a fake
// clock: over one interval, ticking each minute, every wiki is synced
// once, in several ticks rather than all in one; when all fall due at once
// (after a stall), no more than SyncConcurrency run at the same time.
func TestSyncsAreSpreadAndBounded(t *testing.T) {
	db := tempStore(t)
	slow := &slowWiki{}
	var wikis []reminders.Wiki
	for i := range 12 {
		c, err := mw.New(mw.Config{APIURL: "http://wiki.invalid/api.php", HTTPClient: &http.Client{Transport: slow}})
		if err != nil {
			t.Fatal(err)
		}
		wikis = append(wikis, reminders.Wiki{Name: fmt.Sprintf("wiki%02d", i), Client: c})
	}
	t0 := time.Date(2026, 3, 1, 12, 0, 30, 0, time.UTC)
	clock := testenv.NewClock(t0)
	const interval, concurrency = 10 * time.Minute, 3
	s, err := reminders.New(reminders.Config{Store: db, Wikis: wikis, Notify: newInbox().Notify, Now: clock.Now,
		SyncInterval: interval, SyncConcurrency: concurrency})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()

	if names := s.SyncDue(ctx); len(names) != 0 {
		t.Errorf("synced %v at once; the first syncs come at each wiki's slot", names)
	}
	synced := map[string]int{}
	ticksWithSyncs, most := 0, 0
	for minute := 1; minute <= 10; minute++ {
		clock.Set(t0.Add(time.Duration(minute) * time.Minute))
		names := s.SyncDue(ctx)
		for _, n := range names {
			synced[n]++
		}
		if len(names) > 0 {
			ticksWithSyncs++
		}
		most = max(most, len(names))
	}
	for _, w := range wikis {
		if synced[w.Name] != 1 {
			t.Errorf("%s synced %d times in one interval, want once", w.Name, synced[w.Name])
		}
	}
	if ticksWithSyncs < 4 || most > 6 {
		t.Errorf("the syncs fell in %d of 10 ticks, up to %d in one: not spread", ticksWithSyncs, most)
	}
	if peak, _ := slow.stats(); peak > concurrency {
		t.Errorf("%d syncs ran at once, more than %d", peak, concurrency)
	}

	// A stall: five intervals later every wiki is due in the same tick, once.
	clock.Add(5 * interval)
	names := s.SyncDue(ctx)
	peak, requests := slow.stats()
	if len(names) != 12 || peak > concurrency || peak < 2 {
		t.Errorf("after a stall: synced %d wikis, at most %d at once; want 12, at most %d but in parallel", len(names), peak, concurrency)
	}
	if requests != 24 {
		t.Errorf("%d requests to the wikis, want one a sync", requests)
	}
	if names := s.SyncDue(ctx); len(names) != 0 {
		t.Errorf("synced %v again in the same tick", names)
	}
}

// TestDigestsAreByWiki: a burst on en goes out as one digest to en's
// channels, naming en, while de's two reminders due in the same tick go
// out singly to de's.
func TestDigestsAreByWiki(t *testing.T) {
	db := tempStore(t)
	ctx := context.Background()
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	exp := t0.Add(48 * time.Hour)
	pages := map[string]int{"en": 7, "de": 2}
	boxes := map[string]*inbox{"en": newInbox(), "de": newInbox()}
	var wikis []reminders.Wiki
	for _, name := range []string{"en", "de"} {
		for i := range pages[name] {
			p := reminders.TrackedProtection{Type: "edit", Level: "sysop", Expiry: exp, Length: 48 * time.Hour, SetBy: "alice", Platform: "wiki"}
			if _, err := db.ReconcilePage(ctx, name, fmt.Sprintf("Burst %d", i), []reminders.TrackedProtection{p}, []time.Duration{time.Hour}, t0); err != nil {
				t.Fatal(err)
			}
		}
		c, _ := mw.New(mw.Config{APIURL: "http://127.0.0.1:1/api.php"})
		b := boxes[name]
		wikis = append(wikis, reminders.Wiki{Name: name, Client: c, Channels: func() []reminders.Channel {
			return []reminders.Channel{{Name: "notice", Notify: b.Notify}}
		}})
	}
	clock := testenv.NewClock(exp.Add(-time.Hour))
	useClock(t, clock.Now)
	s, err := reminders.New(reminders.Config{Store: db, Wikis: wikis, Now: clock.Now, LeadTimes: []time.Duration{time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	m := wantOne(t, boxes["en"].take(), "en's burst")
	if english(m.Title) != "[en] 7 protections expire soon or have expired" || m.Wiki != "en" || len(m.Fields) != 7 || !strings.Contains(english(m.Text), "`/expiring wiki=en`") {
		t.Errorf("en's digest = %q (wiki %q, %d lines)\n%s", m.Title, m.Wiki, len(m.Fields), m.Text)
	}
	if got := m.Title.String(); got != "(wikimod-wiki-prefix: en, (wikimod-reminder-digest-title: 7))" {
		t.Errorf("en's digest title in qqx: %s", got)
	}
	body := m
	body.Title = i18n.Message{}
	qqxWords(t, "a farm's digest", body, "alice", "Burst", "/expiring wiki=en")
	de := boxes["de"].take()
	if len(de) != 2 {
		t.Fatalf("de got %d messages, want 2", len(de))
	}
	for _, m := range de {
		if !strings.HasPrefix(english(m.Title), "[de] Protection of Burst ") || m.Wiki != "de" || len(m.Actions) != 2 || m.Actions[0].Args["wiki"] != "de" {
			t.Errorf("de's reminder = %q (wiki %q), %+v", m.Title, m.Wiki, m.Actions)
		}
	}
	if err := s.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(boxes["en"].take()) + len(boxes["de"].take()); n != 0 {
		t.Errorf("%d sent again", n)
	}
}

// TestOnProtectTracksUnderItsWiki: a /protect is tracked under the wiki
// its outcome names, within that wiki's own page list; one on a wiki the
// reminders do not know is left alone.
func TestOnProtectTracksUnderItsWiki(t *testing.T) {
	db := tempStore(t)
	c, _ := mw.New(mw.Config{APIURL: "http://127.0.0.1:1/api.php"})
	s, err := reminders.New(reminders.Config{Store: db, Notify: newInbox().Notify, Wikis: []reminders.Wiki{
		{Name: "en", Client: c, Pages: []string{"Watched"}},
		{Name: "de", Client: c},
	}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	exp := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	for _, w := range []string{"en", "de", "fr", ""} {
		for _, title := range []string{"Watched", "Other"} {
			res := &commands.ProtectOutcome{Wiki: w, Title: title, Protections: []mw.ProtectionResult{{Action: "edit", Level: "sysop", Expiry: exp}}}
			if err := s.OnProtect(ctx, slackAdmin, res); err != nil {
				t.Errorf("OnProtect(%s, %s): %v", w, title, err)
			}
		}
	}
	for _, c := range []struct {
		wiki, title string
		want        int
	}{{"en", "Watched", 1}, {"en", "Other", 0}, {"de", "Watched", 1}, {"de", "Other", 1}, {"fr", "Other", 0}, {commands.DefaultWiki, "Other", 0}} {
		if ps, _ := db.PageProtections(ctx, c.wiki, c.title); len(ps) != c.want {
			t.Errorf("%s on %s: %d tracked, want %d", c.title, c.wiki, len(ps), c.want)
		}
	}
}
