package commands_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wikimod/wikimod/commands"
	"github.com/wikimod/wikimod/i18n"
	"github.com/wikimod/wikimod/internal/testenv"
	"github.com/wikimod/wikimod/internal/testwait"
	"github.com/wikimod/wikimod/mw"
)

// categoryOf creates n real pages in a new category, and returns the
// category's name and the pages' titles.
func categoryOf(t *testing.T, env *testenv.Env, n int) (string, []string) {
	t.Helper()
	cat := testwait.Unique("Batch Cat ")
	var titles []string
	for i := range n {
		title := fmt.Sprintf("%s page %d", cat, i)
		if _, err := env.Bot.Post(context.Background(), "csrf", map[string][]string{
			"action": {"edit"}, "title": {title}, "text": {"A page for wikimod's tests. [[Category:" + cat + "]]"}, "createonly": {"1"},
		}, nil); err != nil {
			t.Fatal(err)
		}
		titles = append(titles, title)
	}
	// The wiki files a page in its category after the edit (its links
	// update): wait until the category holds them all.
	testwait.For(t, "the category's pages", func() bool {
		list, err := env.Bot.CategoryMembers(context.Background(), cat, n+1)
		return err == nil && len(list.Titles) == n
	})
	return cat, titles
}

// press runs a batch's button as actor would, through the queue, and
// returns its reply and the progress messages shown before it.
func press(t *testing.T, env *testenv.Env, actor commands.Actor, a commands.Action) (commands.Reply, []commands.Reply) {
	t.Helper()
	var (
		mu       sync.Mutex
		progress []commands.Reply
	)
	replies := make(chan commands.Reply, 1)
	refusal, ok := env.Service.Submit(ctxTest, commands.Job{Actor: actor, Name: a.Command, Args: commands.Args{Named: a.Args},
		Deliver: func(_ context.Context, r commands.Reply) { replies <- r },
		Progress: func(_ context.Context, r commands.Reply) {
			mu.Lock()
			defer mu.Unlock()
			progress = append(progress, r)
		}})
	if !ok {
		return refusal, nil
	}
	r := <-replies
	mu.Lock()
	defer mu.Unlock()
	return r, progress
}

// previewOf runs a /protect of many pages and returns its preview, which
// must ask to confirm.
func previewOf(t *testing.T, env *testenv.Env, actor commands.Actor, line string) commands.Reply {
	t.Helper()
	r := run(t, env, actor, line)
	if !r.OK() || r.Confirm == nil || r.Code != "batch-preview" {
		t.Fatalf("%s: no preview: %s (%s)", line, r.String(), r.Code)
	}
	return r
}

// TestProtectCategoryAfterPreviewAndConfirm: /protect category= answers
// with a preview that names the pages and what would change, leaving out
// and counting a page already protected as asked, and changes nothing on
// the wiki; Confirm then protects every page, once, pressed twice or not,
// each page with its own audit row naming the batch, with progress along
// the way and a summary that says what the wiki did.
func TestProtectCategoryAfterPreviewAndConfirm(t *testing.T) {
	env := testenv.New(t, wiki, testenv.Options{})
	cat, titles := categoryOf(t, env, 12)
	if r := run(t, env, admin, fmt.Sprintf(`/protect %q edit=autoconfirmed`, titles[0])); !r.OK() {
		t.Fatal(r.String())
	}
	writes := wikiRequests(env, "protect")
	preview := previewOf(t, env, admin, fmt.Sprintf(`/protect category=%q edit=autoconfirmed move=sysop reason="batch test"`, cat))
	if got := wikiRequests(env, "protect"); got != writes {
		t.Errorf("the preview sent %v protect requests", got-writes)
	}
	for _, title := range titles[1:] {
		if ps := env.Protections(t, title); len(ps) != 0 {
			t.Errorf("%s protected before the confirmation: %v", title, ps)
		}
	}
	text := preview.String()
	for _, want := range []string{"Protect 12 pages?", "Nothing has been changed yet.", "The first 10 of the 12 are shown.", titles[1]} {
		if !strings.Contains(text, want) {
			t.Errorf("preview lacks %q:\n%s", want, text)
		}
	}
	// titles[0] has edit=autoconfirmed but not move=sysop: it changes too.
	if len(preview.Fields) != 10 || !strings.Contains(english(preview.Fields[0].Value), "sysop") {
		t.Errorf("preview fields: %d, first %q", len(preview.Fields), english(preview.Fields[0].Value))
	}

	// Another asks for the same batch: refused, nothing changes.
	if r, _ := press(t, env, helperSysop, preview.Confirm.Yes); r.OK() || r.Code != "batch-not-yours" {
		t.Errorf("confirmed by another: %s (%s)", r.String(), r.Code)
	}
	r, progress := press(t, env, admin, preview.Confirm.Yes)
	if !r.OK() || r.Code != "batch-done" {
		t.Fatalf("confirm: %s (%s)", r.String(), r.Code)
	}
	if want := "Batch done: 12 changed, 0 already so, 0 refused"; english(r.Title) != want {
		t.Errorf("summary %q, want %q", english(r.Title), want)
	}
	if len(progress) == 0 || english(progress[0].Title) != "Protecting pages: 10 of 12 done" || len(progress[0].Actions) != 1 {
		t.Errorf("progress: %+v", progress)
	}
	for _, title := range titles {
		ps := env.Protections(t, title)
		if ps["edit"].Level != "autoconfirmed" || ps["move"].Level != "sysop" {
			t.Errorf("%s after the batch: %v", title, ps)
		}
	}
	after := wikiRequests(env, "protect")
	if again, _ := press(t, env, admin, preview.Confirm.Yes); again.OK() || again.Code != "batch-taken" {
		t.Errorf("confirmed twice: %s (%s)", again.String(), again.Code)
	}
	if got := wikiRequests(env, "protect"); got != after {
		t.Errorf("a second confirmation sent %v protect requests", got-after)
	}
	recs, err := env.DB.Audit(ctxTest, commands.AuditFilter{Command: "protect", Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	batch := preview.Confirm.Yes.Args["id"]
	audited := map[string]bool{}
	for _, rec := range recs {
		if rec.Args["batch"] == batch {
			if rec.Outcome != commands.OutcomeOK || rec.Args["reason"] != "batch test" || rec.Args["category"] != "" {
				t.Errorf("audit row of %s: %+v", rec.Args["title"], rec)
			}
			audited[rec.Args["title"]] = true
		}
	}
	if len(audited) != len(titles) {
		t.Errorf("audit rows for %d pages, want %d: %v", len(audited), len(titles), audited)
	}
}

// helperSysop is another sysop, for presses by someone who did not ask.
var helperSysop = commands.Actor{Platform: "discord", UserID: "D-ADMIN", UserName: "dana", Channel: "test"}

// TestProtectBatchDeclinedChangesNothing: Cancel on a preview declines the
// batch; nothing is protected, and a later Confirm is refused.
func TestProtectBatchDeclinedChangesNothing(t *testing.T) {
	env := testenv.New(t, wiki, testenv.Options{})
	_, titles := categoryOf(t, env, 2)
	preview := previewOf(t, env, admin, fmt.Sprintf(`/protect titles="%s|%s" edit=sysop`, titles[0], titles[1]))
	writes := wikiRequests(env, "protect")
	if r, _ := press(t, env, admin, preview.Confirm.No); !r.OK() || r.Code != "batch-declined" {
		t.Fatalf("cancel: %s (%s)", r.String(), r.Code)
	}
	if r, _ := press(t, env, admin, preview.Confirm.Yes); r.OK() || r.Code != "batch-taken" {
		t.Errorf("confirm after cancel: %s (%s)", r.String(), r.Code)
	}
	if got := wikiRequests(env, "protect"); got != writes {
		t.Errorf("%v protect requests after a decline", got-writes)
	}
	for _, title := range titles {
		if ps := env.Protections(t, title); len(ps) != 0 {
			t.Errorf("%s protected after a decline: %v", title, ps)
		}
	}
}

// TestProtectBatchLimit: more pages than batch_limit are refused, saying
// how many and how to narrow, with nothing kept; a prefix past the limit
// too.
func TestProtectBatchLimit(t *testing.T) {
	env := testenv.New(t, wiki, testenv.Options{BatchLimit: 3})
	cat, titles := categoryOf(t, env, 4)
	r := run(t, env, admin, fmt.Sprintf(`/protect category=%q edit=sysop`, cat))
	if r.OK() || r.Code != "batch-too-many" || !strings.Contains(r.String(), "That is 4 pages, more than the 3 one batch may protect.") {
		t.Errorf("category over the limit: %s (%s)", r.String(), r.Code)
	}
	r = run(t, env, admin, fmt.Sprintf(`/protect prefix=%q edit=sysop`, cat))
	if r.OK() || r.Code != "batch-too-many" || !strings.Contains(r.String(), "more than the 3 pages") {
		t.Errorf("prefix over the limit: %s (%s)", r.String(), r.Code)
	}
	r = run(t, env, admin, fmt.Sprintf(`/protect titles=%q edit=sysop`, strings.Join(titles, "|")))
	if r.OK() || r.Code != "batch-too-many" {
		t.Errorf("titles over the limit: %s (%s)", r.String(), r.Code)
	}
	for _, line := range []string{
		fmt.Sprintf(`/protect %q category=X edit=sysop`, titles[0]),
		`/protect category=X prefix=Y edit=sysop`,
		fmt.Sprintf(`/protect category=%q`, cat),
	} {
		if r := run(t, env, admin, line); r.OK() || r.Code != "usage" {
			t.Errorf("%s: %s (%s)", line, r.String(), r.Code)
		}
	}
}

// TestProtectBatchRefusesWhatThePersonMayNot: a person who may set only
// semi-protection protects a category holding a sysop-protected page: that
// page is refused in the summary, with why, as /protect of it alone would
// be, and the others are done.
func TestProtectBatchRefusesWhatThePersonMayNot(t *testing.T) {
	env := testenv.New(t, wiki, testenv.Options{Rules: semiRules()})
	cat, titles := categoryOf(t, env, 3)
	if r := run(t, env, admin, fmt.Sprintf(`/protect %q edit=sysop`, titles[1])); !r.OK() {
		t.Fatal(r.String())
	}
	preview := previewOf(t, env, semi, fmt.Sprintf(`/protect category=%q edit=autoconfirmed`, cat))
	r, _ := press(t, env, semi, preview.Confirm.Yes)
	if !r.OK() || english(r.Title) != "Batch done: 2 changed, 0 already so, 1 refused" {
		t.Fatalf("summary: %s", r.String())
	}
	if len(r.Fields) != 1 || english(r.Fields[0].Label) != titles[1] || !strings.Contains(english(r.Fields[0].Value), "editprotected") {
		t.Errorf("refused page: %+v\n%s", r.Fields, r.String())
	}
	if ps := env.Protections(t, titles[1]); ps["edit"].Level != "sysop" {
		t.Errorf("the sysop-protected page: %v", ps)
	}
	for _, i := range []int{0, 2} {
		if ps := env.Protections(t, titles[i]); ps["edit"].Level != "autoconfirmed" {
			t.Errorf("%s: %v", titles[i], ps)
		}
	}
	recs, err := env.DB.Audit(ctxTest, commands.AuditFilter{Command: "protect", Limit: 20})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(recs, func(rec commands.AuditRecord) bool {
		return rec.Args["title"] == titles[1] && rec.Args["batch"] != "" && rec.Outcome == commands.OutcomeDenied
	}) {
		t.Errorf("no denied audit row for %s", titles[1])
	}
}

// TestProtectBatchStoppedBetweenPages: Stop, pressed while a batch runs,
// ends it before its next page; what was done stays done and the summary
// says how many were not.
func TestProtectBatchStoppedBetweenPages(t *testing.T) {
	env := testenv.New(t, wiki, testenv.Options{})
	cat, titles := categoryOf(t, env, 12)
	preview := previewOf(t, env, admin, fmt.Sprintf(`/protect category=%q edit=sysop`, cat))
	replies := make(chan commands.Reply, 1)
	stopped := make(chan commands.Reply, 1)
	var once sync.Once
	_, ok := env.Service.Submit(ctxTest, commands.Job{Actor: admin, Name: cmdOf(preview.Confirm.Yes), Args: commands.Args{Named: preview.Confirm.Yes.Args},
		Deliver: func(_ context.Context, r commands.Reply) { replies <- r },
		Progress: func(_ context.Context, r commands.Reply) {
			// At the first progress, Stop: the batch hears of it before
			// its next page.
			once.Do(func() {
				stopped <- env.Service.Execute(ctxTest, admin, r.Actions[0].Command, commands.Args{Named: r.Actions[0].Args})
			})
		}})
	if !ok {
		t.Fatal("not queued")
	}
	r := <-replies
	if s := <-stopped; !s.OK() || s.Code != "batch-stopping" {
		t.Errorf("stop: %s (%s)", s.String(), s.Code)
	}
	if r.Code != "batch-stopped" || english(r.Title) != "Batch done: 10 changed, 0 already so, 0 refused" ||
		!strings.Contains(r.String(), "Stopped by a cancel: 2 pages were not done.") {
		t.Errorf("summary: %s (%s)", r.String(), r.Code)
	}
	protected := 0
	for _, title := range titles {
		if env.Protections(t, title)["edit"].Level == "sysop" {
			protected++
		}
	}
	if protected != 10 {
		t.Errorf("%d pages protected, want the 10 done before the stop", protected)
	}
}

func cmdOf(a commands.Action) string { return a.Command }

// TestProtectBatchHasNoEnglish renders a preview, a progress message and a
// summary with a refusal in qqx: every word comes from a catalogue.
func TestProtectBatchHasNoEnglish(t *testing.T) {
	env := testenv.New(t, wiki, testenv.Options{Rules: semiRules()})
	cat, titles := categoryOf(t, env, 11)
	if r := run(t, env, admin, fmt.Sprintf(`/protect %q edit=sysop`, titles[0])); !r.OK() {
		t.Fatal(r.String())
	}
	preview := previewOf(t, env, semi, fmt.Sprintf(`/protect category=%q edit=autoconfirmed expiry="1 week"`, cat))
	given := append(slices.Clone(titles), cat, "1 week", "semiprotector", "semi", "console")
	noEnglish(t, "preview", preview, given...)
	l := i18n.Localizer{Lang: "qqx"}
	for _, a := range preview.Actions {
		if left := l.Text(a.Label); !strings.HasPrefix(left, "(wikimod-batch-button-") {
			t.Errorf("button label %q", left)
		}
	}
	r, progress := press(t, env, semi, preview.Confirm.Yes)
	if len(progress) == 0 {
		t.Fatal("no progress")
	}
	noEnglish(t, "progress", progress[0], given...)
	noEnglish(t, "summary", r, given...)
	if len(r.Fields) != 1 {
		t.Errorf("summary fields: %+v", r.Fields)
	}
}

// TestProtectBatchCutShortIsEndedAndToldOnce: a batch's process dies while
// the batch runs: ten pages done (one of them refused), the eleventh sent
// to the wiki and applied, its answer lost, the twelfth never reached. The
// settle pass of the process that comes after settles the eleventh page
// against the protect log, ends the batch as interrupted with a summary
// of what really happened, without a request to the wiki, and settles the
// confirmation with it; its requester is told once, in their language,
// what was done, what was not and how to finish. A second pass does and
// tells nothing; Stop on the stale progress message says the batch ended;
// the frozen run, should it wake, does no page more.
func TestProtectBatchCutShortIsEndedAndToldOnce(t *testing.T) {
	env := testenv.New(t, wiki, testenv.Options{Rules: semiRules()})
	cat, titles := categoryOf(t, env, 12)
	if r := run(t, env, admin, fmt.Sprintf(`/protect %q edit=sysop`, titles[1])); !r.OK() {
		t.Fatal(r.String())
	}
	preview := previewOf(t, env, semi, fmt.Sprintf(`/protect category=%q edit=autoconfirmed reason="cut short"`, cat))
	id := preview.Confirm.Yes.Args["id"]

	// The run freezes at its first progress message, after ten pages, as
	// a process killed there would stop: it writes nothing more.
	freeze, progressed := make(chan struct{}), make(chan commands.Reply, 1)
	wake := sync.OnceFunc(func() { close(freeze) })
	t.Cleanup(wake)
	replies := make(chan commands.Reply, 1)
	if _, ok := env.Service.Submit(ctxTest, commands.Job{Actor: semi, Name: cmdOf(preview.Confirm.Yes), Args: commands.Args{Named: preview.Confirm.Yes.Args},
		Deliver: func(_ context.Context, r commands.Reply) { replies <- r },
		Progress: func(_ context.Context, r commands.Reply) {
			select {
			case progressed <- r:
			default:
			}
			<-freeze
		}}); !ok {
		t.Fatal("not queued")
	}
	stale := <-progressed
	batch, err := env.DB.Batch(ctxTest, mustInt(t, id))
	if err != nil {
		t.Fatal(err)
	}
	var plan struct{ Titles []string }
	if err := json.Unmarshal(batch.Plan, &plan); err != nil || len(plan.Titles) != 12 {
		t.Fatalf("plan %s: %v", batch.Plan, err)
	}
	// What the dead process did with the eleventh page: its row begun,
	// its protection applied on the wiki, its answer never read.
	eleventh, twelfth := plan.Titles[10], plan.Titles[11]
	beginAs(t, env.DB, "", time.Now(), semi, commands.OutcomePending, "protect", map[string]string{"title": eleventh, "batch": id, "edit": "autoconfirmed"})
	if _, err := env.Bot.Protect(ctxTest, mw.ProtectParams{Title: eleventh, Protections: []mw.Protection{{Action: "edit", Level: "autoconfirmed"}}}); err != nil {
		t.Fatal(err)
	}
	writes := wikiRequests(env, "protect")

	policy, err := commands.NewPolicy(semiRules())
	if err != nil {
		t.Fatal(err)
	}
	next, err := commands.New(commands.Config{Wikis: []*commands.Wiki{env.Wikis[commands.DefaultWiki]}, Policy: policy, Audit: env.DB,
		Batches: env.DB, Instance: "next", Platforms: testenv.Platforms})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { next.Close(ctxTest) })
	tl := &told{}
	tellers := map[string]commands.Teller{"console": tl}
	rep, err := next.Settle(ctxTest, env.DB, nil)
	if err != nil || rep != (commands.SettleReport{Applied: 1, Interrupted: 1}) {
		t.Fatalf("settled %+v, %v; want the eleventh page applied and the batch interrupted", rep, err)
	}
	if got := wikiRequests(env, "protect"); got != writes {
		t.Errorf("settling sent %v protect requests", got-writes)
	}
	ended, err := env.DB.Batch(ctxTest, batch.ID)
	if err != nil {
		t.Fatal(err)
	}
	var sum struct {
		Changed, Unchanged, Refused, Unknown int
		NotDone                              int `json:"not_done"`
		Stopped                              string
	}
	if err := json.Unmarshal(ended.Summary, &sum); err != nil || ended.State != commands.BatchDone || sum.Stopped != "interrupted" ||
		sum.Changed != 10 || sum.Refused != 1 || sum.Unknown != 0 || sum.NotDone != 1 {
		t.Errorf("the batch after settling: %s, %s, %v", ended.State, ended.Summary, err)
	}
	recs, err := env.DB.Audit(ctxTest, commands.AuditFilter{Limit: 30})
	if err != nil {
		t.Fatal(err)
	}
	for _, rec := range recs {
		switch {
		case rec.Command == "batch" && rec.Args["id"] == id:
			if rec.Outcome != commands.OutcomeInterrupted || rec.Code != "batch-interrupted" {
				t.Errorf("the confirmation's row: %s/%s", rec.Outcome, rec.Code)
			}
		case rec.Args["title"] == eleventh:
			if rec.Outcome != commands.OutcomeOK || rec.Code != "settled-from-log" {
				t.Errorf("the eleventh page's row: %s/%s", rec.Outcome, rec.Code)
			}
		}
	}

	if rep, err := next.TellSettled(ctxTest, env.DB, "next", tellers); err != nil || rep != (commands.TellReport{Sent: 1}) {
		t.Fatalf("told %+v, %v; want the requester once", rep, err)
	}
	msgs := tl.to("semi")
	if len(msgs) != 1 {
		t.Fatalf("the requester was told %d times", len(msgs))
	}
	text := msgs[0].Reply.String()
	for _, want := range []string{"Batch cut short: 10 changed, 0 already so, 1 refused, 1 not done", "/protect category=", "edit=autoconfirmed",
		eleventh, "One page was not done.", "To finish, run the same `/protect` again", titles[1]} {
		if !strings.Contains(text, want) {
			t.Errorf("the notice lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, twelfth) {
		t.Errorf("the notice names %s, never reached, as done:\n%s", twelfth, text)
	}
	// The command as typed, and the refusal's code, are shown as they are.
	given := append(slices.Clone(titles), cat, "cut short", "missing-right:editprotected")
	noEnglish(t, "the notice", msgs[0].Reply, append(given, specWords(env.Service)...)...)

	// Once told, told for good.
	if rep, err := next.Settle(ctxTest, env.DB, nil); err != nil || rep != (commands.SettleReport{}) {
		t.Errorf("a second pass settled %+v, %v", rep, err)
	}
	if rep, err := next.TellSettled(ctxTest, env.DB, "next", tellers); err != nil || rep != (commands.TellReport{}) || len(tl.to("semi")) != 1 {
		t.Errorf("a second pass told %+v, %v", rep, err)
	}
	if r := env.Service.Execute(ctxTest, semi, stale.Actions[0].Command, commands.Args{Named: stale.Actions[0].Args}); r.OK() ||
		r.Code != "batch-taken" || !strings.Contains(r.String(), "This batch has ended already") {
		t.Errorf("Stop on the stale progress message: %s (%s)", r.String(), r.Code)
	}

	// The frozen run wakes: it finds its batch ended and does no page
	// more, and gives no answer of its own: the next process settled its
	// row and told its requester.
	wake()
	closeCtx, cancel := context.WithTimeout(ctxTest, time.Minute)
	defer cancel()
	if err := env.Service.Close(closeCtx); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-replies:
		t.Errorf("the woken run answered %s (%s) after the notice", r.String(), r.Code)
	default:
	}
	if got := wikiRequests(env, "protect"); got != writes {
		t.Errorf("the woken run sent %v protect requests", got-writes)
	}
	if ps := env.Protections(t, twelfth); len(ps) != 0 {
		t.Errorf("%s, never reached, is protected: %v", twelfth, ps)
	}
}

func mustInt(t *testing.T, s string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
