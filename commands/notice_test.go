package commands_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wikimod/wikimod/commands"
	"github.com/wikimod/wikimod/internal/testenv"
	"github.com/wikimod/wikimod/internal/testwait"
	"github.com/wikimod/wikimod/mw"
	"github.com/wikimod/wikimod/storage"
)

// told is a stand-in for a platform's adapter: it keeps every message a
// requester was sent, and fails the sends fail says to.
type told struct {
	mu   sync.Mutex
	sent []toldMessage
	fail func(to commands.Actor, try int) error
	// tries counts the sends to each user, failed ones included.
	tries map[string]int
}

type toldMessage struct {
	To    commands.Actor
	Reply commands.Reply
}

func (t *told) TellRequester(_ context.Context, to commands.Actor, r commands.Reply) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.tries == nil {
		t.tries = map[string]int{}
	}
	t.tries[to.UserID]++
	if t.fail != nil {
		if err := t.fail(to, t.tries[to.UserID]); err != nil {
			return err
		}
	}
	t.sent = append(t.sent, toldMessage{to, r})
	return nil
}

// to returns the messages sent to a user.
func (t *told) to(user string) []toldMessage {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []toldMessage
	for _, m := range t.sent {
		if m.To.UserID == user {
			out = append(out, m)
		}
	}
	return out
}

func (t *told) triesOf(user string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.tries[user]
}

// beginAs writes an audit record as a process named owner would have
// begun it, and returns its ID.
func beginAs(t *testing.T, db *storage.DB, owner string, at time.Time, actor commands.Actor, outcome commands.Outcome, command string, args map[string]string) int64 {
	t.Helper()
	rec := &commands.AuditRecord{Time: at, Wiki: commands.DefaultWiki, Owner: owner, Platform: actor.Platform, UserID: actor.UserID,
		UserName: actor.UserName, Channel: actor.Channel, Command: command, Args: args, Outcome: outcome}
	if err := db.Begin(ctxTest, rec); err != nil {
		t.Fatal(err)
	}
	return rec.ID
}

// TestSettledRequestersAreToldOnce: the requesters of the commands a dead
// process left are told, each once, through their platform, what became
// of their command: which it was, when it was given, whether the wiki's
// log shows it applied (and the entry), or that it did not run or may
// have. A console requester, and one whose channel is gone, cannot be
// told; a send that fails is tried again later, a bounded number of
// times.
func TestSettledRequestersAreToldOnce(t *testing.T) {
	clock := testenv.NewClock(time.Now())
	env := testenv.New(t, wiki, testenv.Options{Now: clock.Now})
	applied, notApplied, account := testwait.Unique("Told applied "), testwait.Unique("Told not applied "), testwait.Unique("Told")
	given := clock.Now()
	slackUser := func(id, channel string) commands.Actor {
		return commands.Actor{Platform: "slack", UserID: id, UserName: strings.ToLower(id), Channel: channel}
	}
	discordUser := func(id string) commands.Actor {
		return commands.Actor{Platform: "discord", UserID: id, Channel: "CH-9"}
	}
	beginAs(t, env.DB, "dead", given, slackUser("U-ANN", "C-MODS"), commands.OutcomePending, "protect", map[string]string{"_": applied, "create": "sysop"})
	beginAs(t, env.DB, "dead", given, discordUser("D-BOB"), commands.OutcomeQueued, "protect", map[string]string{"_": notApplied, "create": "sysop", "reason": "spam wave"})
	beginAs(t, env.DB, "dead", given, admin, commands.OutcomePending, "protect", map[string]string{"_": notApplied, "edit": "sysop"})
	beginAs(t, env.DB, "dead", given, slackUser("U-CAT", "C-MODS"), commands.OutcomePending, "createaccount",
		map[string]string{"username": account, "email": "cat@example.test", "password": "[redacted]"})
	beginAs(t, env.DB, "dead", given, slackUser("U-DAN", "C-GONE"), commands.OutcomePending, "resetpassword", map[string]string{"user": "Admin"})
	beginAs(t, env.DB, "dead", given, discordUser("D-EVE"), commands.OutcomePending, "validatepassword", map[string]string{"password": "[redacted]"})
	beginAs(t, env.DB, "dead", given, slackUser("U-GIL", "C-MODS"), commands.OutcomeQueued, "protect", map[string]string{"_": notApplied})
	// What the dead process had done on the wiki.
	res, err := env.Bot.Protect(ctxTest, mw.ProtectParams{Title: applied, Protections: []mw.Protection{{Action: "create", Level: "sysop"}}})
	if err != nil {
		t.Fatal(err)
	}

	if _, err := env.Service.Settle(ctxTest, env.DB, nil); err != nil {
		t.Fatal(err)
	}
	slack := &told{fail: func(to commands.Actor, try int) error {
		switch to.UserID {
		case "U-DAN":
			return fmt.Errorf("channel_not_found: %w", commands.ErrUndeliverable)
		case "U-GIL":
			return errors.New("slack is down")
		}
		return nil
	}}
	discord := &told{fail: func(to commands.Actor, try int) error {
		if to.UserID == "D-EVE" && try < 3 {
			return errors.New("discord answered 500")
		}
		return nil
	}}
	tellers := map[string]commands.Teller{"slack": slack, "discord": discord}
	pass := func() commands.TellReport {
		t.Helper()
		rep, err := env.Service.TellSettled(ctxTest, env.DB, "me", tellers)
		if err != nil {
			t.Fatal(err)
		}
		return rep
	}
	if rep := pass(); rep != (commands.TellReport{Sent: 3, Undeliverable: 2, Retrying: 2}) {
		t.Errorf("first pass: %+v, want 3 sent, 2 undeliverable (the console, the channel gone), 2 to try again", rep)
	}

	when := given.UTC().Format("2006-01-02 15:04 UTC")
	check := func(user, title string, want ...string) {
		t.Helper()
		var msgs []toldMessage
		if strings.HasPrefix(user, "U-") {
			msgs = slack.to(user)
		} else {
			msgs = discord.to(user)
		}
		if len(msgs) != 1 {
			t.Errorf("%s was told %d times, want once", user, len(msgs))
			return
		}
		r := msgs[0].Reply
		// In the requester's language: with none of their own, the wiki's.
		if r.Localizer.Lang != "en" {
			t.Errorf("%s was told in %q, want the wiki's language, en", user, r.Localizer.Lang)
		}
		if english(r.Title) != title {
			t.Errorf("%s was told %q, want %q", user, r.Title, title)
		}
		for _, w := range append(want, when) {
			if !strings.Contains(english(r.Text), w) {
				t.Errorf("%s's message lacks %q:\n%s", user, w, r.Text)
			}
		}
		noEnglish(t, user+"'s notice", r, append(specWords(env.Service), applied, notApplied, account, "spam wave")...)
		for _, never := range []string{"redacted", "cat@example.test", "[unparsed]"} {
			if strings.Contains(english(r.Text), never) {
				t.Errorf("%s's message holds %q:\n%s", user, never, r.Text)
			}
		}
	}
	check("U-ANN", "Your command was carried out.", fmt.Sprintf("`/protect %q create=sysop`", applied), "protect log shows that it took effect")
	if m := slack.to("U-ANN"); len(m) == 1 {
		if m[0].To.Channel != "C-MODS" || !strings.Contains(m[0].Reply.URL, "Special:Redirect/logid/") {
			t.Errorf("told in %q with link %q", m[0].To.Channel, m[0].Reply.URL)
		}
		if res.Title != applied {
			t.Errorf("protected %q", res.Title)
		}
	}
	check("D-BOB", "Your command did not run.", fmt.Sprintf("`/protect %q create=sysop reason=\"spam wave\"`", notApplied), "nothing was sent to the wiki")
	check("U-CAT", "Your command did not take effect.", "`/createaccount username="+account+"`", "user creation log has no entry")
	if n := discord.to("D-EVE"); len(n) != 0 {
		t.Errorf("D-EVE was told %d times while the sends failed", len(n))
	}

	// Nothing is told twice; the failed sends wait for their turn.
	if rep := pass(); rep != (commands.TellReport{}) {
		t.Errorf("second pass at once: %+v, want nothing", rep)
	}
	for range 20 {
		clock.Add(time.Minute)
		pass()
	}
	check("D-EVE", "Your command was cut short.", "`/validatepassword`", "changes nothing on the wiki")
	if n := discord.triesOf("D-EVE"); n != 3 {
		t.Errorf("D-EVE: %d sends, want 3 (two failed)", n)
	}
	if n := slack.triesOf("U-GIL"); n != 5 {
		t.Errorf("U-GIL: %d sends that all failed, want 5 and no more", n)
	}
	if n := slack.triesOf("U-DAN"); n != 1 {
		t.Errorf("U-DAN, whose channel is gone: %d sends, want 1", n)
	}
	for _, user := range []string{"U-ANN", "U-CAT", "D-BOB"} {
		if n := len(slack.to(user)) + len(discord.to(user)); n != 1 {
			t.Errorf("%s was told %d times", user, n)
		}
	}
}

// flakyAudit is an audit log whose Finish fails while down is set, as a
// database that is away fails.
type flakyAudit struct {
	commands.Auditor
	mu   sync.Mutex
	down bool
}

func (f *flakyAudit) set(down bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down = down
}

func (f *flakyAudit) Finish(ctx context.Context, rec *commands.AuditRecord) error {
	f.mu.Lock()
	down := f.down
	f.mu.Unlock()
	if down {
		return errors.New("dial unix /run/postgresql/.s.PGSQL.5432: connect: connection refused")
	}
	return f.Auditor.Finish(ctx, rec)
}

// TestOwnRecordsSettledOnlyWhenOrphaned: a live process settles its own
// unfinished records only once no command of it can be using them (its
// Begin reached the database though the answer did not), and tells
// nobody: the requester was answered then. A record whose end waits for
// the database to come back is not settled, however old; the end its
// reply gave is written once the database is back. Another live
// process's records are left alone.
func TestOwnRecordsSettledOnlyWhenOrphaned(t *testing.T) {
	clock := testenv.NewClock(time.Now())
	env := testenv.New(t, wiki, testenv.Options{Now: clock.Now})
	policy, err := commands.NewPolicy(testenv.DefaultRules)
	if err != nil {
		t.Fatal(err)
	}
	audit := &flakyAudit{Auditor: env.DB}
	svc, err := commands.New(commands.Config{Wiki: env.Bot, Policy: policy, Audit: audit, Instance: "me", Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close(ctxTest) })
	start := clock.Now()
	orphan := beginAs(t, env.DB, "me", start, admin, commands.OutcomeQueued, "protect", map[string]string{"_": testwait.Unique("Orphan ")})
	peers := beginAs(t, env.DB, "peer", start, admin, commands.OutcomePending, "protect", map[string]string{"_": testwait.Unique("Peer ")})
	audit.set(true)
	reply := svc.ExecuteLine(ctxTest, admin, `/validatepassword password="A-long-enough-pass-4471" user="Orphan Test Newcomer"`)
	waiting := env.LastAudit(t)
	if waiting.Outcome != commands.OutcomePending || waiting.Command != "validatepassword" {
		t.Fatalf("the command's record = %+v, want it pending, its end unwritten", waiting)
	}
	outcome := func(id int64) string {
		t.Helper()
		recs, err := env.DB.Audit(ctxTest, storage.AuditFilter{Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			if r.ID == id {
				return string(r.Outcome) + "/" + r.Code
			}
		}
		t.Fatalf("no record %d", id)
		return ""
	}
	alive := func(owner string) bool { return false }

	clock.Add(time.Minute)
	if rep, err := svc.Settle(ctxTest, env.DB, alive); err != nil || rep != (commands.SettleReport{}) {
		t.Errorf("a minute on: settled %+v, %v; want nothing", rep, err)
	}
	clock.Add(time.Hour)
	if rep, err := svc.Settle(ctxTest, env.DB, alive); err != nil || rep != (commands.SettleReport{Interrupted: 1}) {
		t.Errorf("an hour on: settled %+v, %v; want the orphan alone", rep, err)
	}
	if got := outcome(orphan); got != "interrupted/not-run" {
		t.Errorf("the orphan is %s", got)
	}
	for id, want := range map[int64]string{peers: "pending/", waiting.ID: "pending/"} {
		if got := outcome(id); got != want {
			t.Errorf("record %d is %s, want %s", id, got, want)
		}
	}
	if n, err := env.DB.ClaimNotices(ctxTest, "me", clock.Now(), clock.Now().Add(time.Minute), 10); err != nil || len(n) != 0 {
		t.Errorf("notices = %+v, %v; want none: the orphan's requester was answered", n, err)
	}

	audit.set(false)
	if left := svc.FlushAudit(ctxTest); left != 0 {
		t.Errorf("%d ends still unwritten", left)
	}
	if got, want := outcome(waiting.ID), string(reply.Outcome)+"/"+reply.Code; got != want {
		t.Errorf("the command's record is %s, its reply said %s", got, want)
	}
}
