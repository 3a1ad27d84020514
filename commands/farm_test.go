package commands_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/wikimod/wikimod/commands"
	"github.com/wikimod/wikimod/internal/devwiki"
	"github.com/wikimod/wikimod/internal/testenv"
	"github.com/wikimod/wikimod/internal/testwait"
	"github.com/wikimod/wikimod/mw"
)

// newFarm serves the two test wikis as "en" (wiki) and "de" (wiki2).
func newFarm(t *testing.T, opts testenv.Options) *testenv.Env {
	t.Helper()
	devwiki.Need(t, wiki2)
	opts.Farm = []testenv.FarmWiki{{Name: "de", Wiki: wiki2}, {Name: "en", Wiki: wiki}}
	return testenv.New(t, wiki2, opts)
}

func protectionsOn(t *testing.T, c *mw.Client, title string) map[string]string {
	t.Helper()
	ps, err := c.PageProtections(ctxTest, title)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, p := range ps {
		out[p.Type] = p.Level
	}
	return out
}

// TestSameCommandOnEachWiki: one command, wiki= picks the wiki; the same
// title on two wikis is two pages; replies and the audit log name the wiki.
func TestSameCommandOnEachWiki(t *testing.T) {
	env := newFarm(t, testenv.Options{})
	title := testwait.Unique("Farm Page ")
	en := run(t, env, admin, fmt.Sprintf(`/protect "%s" create=sysop wiki=en`, title))
	de := run(t, env, admin, fmt.Sprintf(`/protect "%s" create=autoconfirmed wiki=de`, title))
	if !en.OK() || !de.OK() {
		t.Fatalf("replies:\n%s\n%s", en.String(), de.String())
	}
	if !strings.HasPrefix(english(en.Title), "[en] ") || !strings.HasPrefix(english(de.Title), "[de] ") || en.Wiki != "en" {
		t.Errorf("replies do not name their wiki: %q %q", en.Title, de.Title)
	}
	if got := protectionsOn(t, env.Wikis["en"].Client, title); got["create"] != "sysop" {
		t.Errorf("en protections = %v", got)
	}
	if got := protectionsOn(t, env.Wikis["de"].Client, title); got["create"] != "autoconfirmed" {
		t.Errorf("de protections = %v", got)
	}
	recs := auditRows(t, env, 2)
	if recs[0].Wiki != "de" || recs[1].Wiki != "en" || recs[0].Args["wiki"] != "" {
		t.Errorf("audit = %+v", recs)
	}
	if r := run(t, env, admin, `/help wiki=xx`); r.Code != "unknown-wiki" || !strings.Contains(english(r.Text), "`de` and `en`") {
		t.Errorf("an unknown wiki: %s (%s)", r.String(), r.Code)
	} else {
		noEnglish(t, "unknown wiki", r, "xx")
	}
	if sp, _ := env.Service.Spec("protect"); !hasParam(sp, "wiki") {
		t.Errorf("/protect does not offer wiki= with two wikis: %+v", sp.Params)
	}
}

func hasParam(sp commands.Spec, name string) bool {
	_, ok := sp.Param(name)
	return ok
}

// TestDefaultWikiOfChannelAndServer: without wiki=, a command goes to its
// channel's wiki, else its server's or workspace's; with neither, the
// reply lists the wikis the person may act on.
func TestDefaultWikiOfChannelAndServer(t *testing.T) {
	env := newFarm(t, testenv.Options{Routes: commands.Routes{
		Channels: map[string]string{commands.RouteKey("slack", "C-DE"): "de"},
		Spaces: map[string]string{
			commands.RouteKey("slack", "T-1"):   "en",
			commands.RouteKey("discord", "G-1"): "de",
		},
	}})
	slackDE := commands.Actor{Platform: "slack", UserID: "U-ADMIN", Space: "T-1", Channel: "C-DE"}
	slackEN := commands.Actor{Platform: "slack", UserID: "U-ADMIN", Space: "T-1", Channel: "C-OTHER"}
	discordDE := commands.Actor{Platform: "discord", UserID: "D-ADMIN", Space: "G-1", Channel: "C9"}
	lost := commands.Actor{Platform: "discord", UserID: "D-ADMIN", Space: "G-2", Channel: "C9"}
	for _, tc := range []struct {
		actor commands.Actor
		wiki  string
	}{{slackDE, "de"}, {slackEN, "en"}, {discordDE, "de"}} {
		title := testwait.Unique("Routed ")
		if r := run(t, env, tc.actor, fmt.Sprintf(`/protect "%s" create=sysop`, title)); !r.OK() || r.Wiki != tc.wiki {
			t.Errorf("%s in %s/%s: %s", tc.actor.Platform, tc.actor.Space, tc.actor.Channel, r.String())
		}
		if got := protectionsOn(t, env.Wikis[tc.wiki].Client, title); got["create"] != "sysop" {
			t.Errorf("%s: not protected on %s: %v", tc.actor.Channel, tc.wiki, got)
		}
	}
	r := run(t, env, lost, `/protect "Anything" create=sysop`)
	if r.Code != "no-wiki" || !strings.Contains(english(r.Text), "you may act on: `de` and `en`") || !strings.Contains(english(r.Text), "wiki=NAME") {
		t.Errorf("no default wiki: %s (%s)", r.String(), r.Code)
	}
	noEnglish(t, "no default wiki", r)
}

// TestAccessRuleLimitedToOneWiki: a rule with wikis = ["en"] grants
// nothing on de.
func TestAccessRuleLimitedToOneWiki(t *testing.T) {
	env := newFarm(t, testenv.Options{Rules: []commands.AccessRule{
		{Wikis: []string{"en"}, WikiGroups: []string{"sysop"}, Identities: []commands.Identities{commands.Users("console", "admin")}},
	}})
	title := testwait.Unique("Limited ")
	if r := run(t, env, admin, fmt.Sprintf(`/protect "%s" create=sysop wiki=en`, title)); !r.OK() {
		t.Errorf("en: %s", r.String())
	}
	r := run(t, env, admin, fmt.Sprintf(`/protect "%s" create=sysop wiki=de`, title))
	if r.Outcome != commands.OutcomeDenied || r.Code != "unmapped" {
		t.Errorf("de: %s (%s)", r.String(), r.Code)
	}
	if got := protectionsOn(t, env.Wikis["de"].Client, title); len(got) != 0 {
		t.Errorf("de was protected: %v", got)
	}
	// Asked for no wiki in particular, the person hears of en alone.
	if r := run(t, env, admin, `/protect "X" create=sysop`); !strings.Contains(english(r.Text), "you may act on: `en`.") {
		t.Errorf("no default wiki: %s", r.String())
	}
}

// TestOneWikiDownTheOthersWork: with de frozen, writes to en still run at
// once through the queue; de's commands are answered when their time is
// up, and none of them ran twice.
func TestOneWikiDownTheOthersWork(t *testing.T) {
	env := newFarm(t, testenv.Options{Timeout: 2 * time.Second, Queue: commands.QueueConfig{Workers: 8}})
	// Warm both sessions, so that what follows is the commands' own work.
	for _, w := range []string{"de", "en"} {
		if r := run(t, env, admin, `/protect "`+testwait.Unique("Warm ")+`" create=sysop wiki=`+w); !r.OK() {
			t.Fatal(r.String())
		}
	}
	if err := wiki2.Freeze(); err != nil {
		t.Fatal(err)
	}
	thawed := false
	defer func() {
		if !thawed {
			wiki2.Thaw()
		}
	}()
	submit := func(wiki, title string) chan commands.Reply {
		ch := make(chan commands.Reply, 1)
		_, ok := env.Service.Submit(ctxTest, commands.Job{Actor: admin, Line: fmt.Sprintf(`/protect "%s" create=sysop wiki=%s`, title, wiki),
			Deliver: func(_ context.Context, r commands.Reply) { ch <- r }})
		if !ok {
			t.Fatal("refused")
		}
		return ch
	}
	var deReplies []chan commands.Reply
	for range 2 {
		deReplies = append(deReplies, submit("de", testwait.Unique("Frozen ")))
	}
	enTitle := testwait.Unique("Alive ")
	enReply := <-submit("en", enTitle)
	if !enReply.OK() {
		t.Fatalf("en while de is frozen: %s", enReply.String())
	}
	for i, ch := range deReplies {
		select {
		case r := <-ch:
			t.Errorf("de command %d answered before its time was up: %s", i, r.String())
		default:
		}
	}
	for _, ch := range deReplies {
		r := <-ch
		if r.OK() || r.Wiki != "de" {
			t.Errorf("de frozen: %s (%s)", r.String(), r.Code)
		}
	}
	wiki2.Thaw()
	thawed = true
	if got := protectionsOn(t, env.Wikis["en"].Client, enTitle); got["create"] != "sysop" {
		t.Errorf("en: %v", got)
	}
}

// TestLinksArePerWiki: a link is to an account on one wiki; on another the
// person is unlinked until they link there too.
func TestLinksArePerWiki(t *testing.T) {
	env := newFarm(t, testenv.Options{Linking: true})
	actor := commands.Actor{Platform: "slack", UserID: "U-FARM-LINK", Channel: "C1"}
	name := testwait.Unique("Farm Linked ")
	if err := wiki.CreateUser(ctxTest, name, "Farm-linked-pass-1", "farm@example.test", true); err != nil {
		t.Fatal(err)
	}
	before, _ := wiki.Mail()
	if r := run(t, env, actor, "/link wiki=en user="+commands.QuoteArg(name)); r.Code != "code-sent" {
		t.Fatal(r.String())
	}
	mail, err := wiki.WaitMail(ctxTest, len(before), "Your wikimod code:")
	if err != nil {
		t.Fatal(err)
	}
	code := mailedCode.FindStringSubmatch(mail)[1]
	if r := run(t, env, actor, "/link wiki=de code="+code); r.Code != "no-attempt" {
		t.Errorf("the en code on de: %s (%s)", r.String(), r.Code)
	}
	if r := run(t, env, actor, "/link wiki=en code="+code); r.Code != "linked" {
		t.Fatal(r.String())
	}
	if r := run(t, env, actor, "/whoami wiki=en"); !strings.Contains(r.String(), name) {
		t.Errorf("whoami on en: %s", r.String())
	}
	if r := run(t, env, actor, "/whoami wiki=de"); strings.Contains(r.String(), name) || !strings.Contains(r.String(), "none.") {
		t.Errorf("whoami on de: %s", r.String())
	}
}

// TestHelpNeedsNoWiki: in a farm, /help with no wiki named and no default
// explains the commands (through the queue too), instead of asking which
// wiki; a wiki named is still checked.
func TestHelpNeedsNoWiki(t *testing.T) {
	env := newFarm(t, testenv.Options{})
	for _, line := range []string{`/help`, `/help protect`} {
		r := run(t, env, nobody, line)
		if !r.OK() || strings.Contains(english(r.Text), "wiki=NAME") {
			t.Errorf("%s: %s", line, r.String())
		}
		done := make(chan commands.Reply, 1)
		if _, ok := env.Service.Submit(ctxTest, commands.Job{Actor: nobody, Line: line, Deliver: func(_ context.Context, r commands.Reply) { done <- r }}); !ok {
			t.Fatalf("%s was refused", line)
		}
		if r := <-done; !r.OK() || len(r.Fields) == 0 {
			t.Errorf("%s through the queue: %s", line, r.String())
		}
	}
	if r := run(t, env, admin, `/help wiki=xx`); r.Code != "unknown-wiki" {
		t.Errorf("/help wiki=xx: %s", r.String())
	}
}
