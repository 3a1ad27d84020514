package commands_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/wikimod/wikimod/commands"
	"github.com/wikimod/wikimod/internal/testenv"
	"github.com/wikimod/wikimod/internal/testwait"
)

// semi may protect pages and edit semi-protected ones, not sysop-protected
// ones: the devwiki's semiprotector group.
var semi = commands.Actor{Platform: "console", UserID: "semi", UserName: "semi", Channel: "test"}

func semiRules() []commands.AccessRule {
	return append([]commands.AccessRule{{WikiGroups: []string{"semiprotector"}, Identities: []commands.Identities{commands.Users("console", "semi")}}}, testenv.DefaultRules...)
}

// TestNobodyChangesALevelTheyCouldNotSet: a person who may set only
// semi-protection cannot lower, lift or narrow (exact) a sysop protection,
// nor protect a page that inherits a sysop protection by cascading, nor end
// cascading. For each change, the wiki itself refuses the same request
// from a wiki account of that group, and wikimod refuses it before anything
// is sent, names what the page has, and leaves the page as it was. What the
// group may do on the wiki, it may do through wikimod.
func TestNobodyChangesALevelTheyCouldNotSet(t *testing.T) {
	env := testenv.New(t, wiki, testenv.Options{Rules: semiRules()})
	ctx := context.Background()
	user := testwait.Unique("Semi")
	const pass = "semi-protector-pass-1"
	if err := env.Wiki.CreateUser(ctx, user, pass, "", false); err != nil {
		t.Fatal(err)
	}
	if err := env.Wiki.SetGroups(ctx, user, []string{"semiprotector"}, nil); err != nil {
		t.Fatal(err)
	}

	title := testwait.Unique("Sysop Held ")
	createPage(t, env, title)
	source := testwait.Unique("Cascading Source ")
	inherits := testwait.Unique("Inherits Cascade ")
	createPage(t, env, inherits)
	if _, err := env.Bot.Post(ctx, "csrf", map[string][]string{
		"action": {"edit"}, "title": {source}, "text": {"{{:" + inherits + "}}"}, "createonly": {"1"},
	}, nil); err != nil {
		t.Fatal(err)
	}
	set := func(line string) {
		t.Helper()
		if r := run(t, env, admin, line); !r.OK() {
			t.Fatalf("%s: %s", line, r.String())
		}
	}
	set(fmt.Sprintf(`/protect %q edit=sysop move=sysop`, title))
	set(fmt.Sprintf(`/protect %q edit=sysop cascade`, source))

	cases := []struct {
		page, line string
		// api is the same change as the API takes it, sent to the wiki
		// as the person: the wiki must refuse it too.
		api     string
		cascade bool
	}{
		{title, `edit=autoconfirmed move=autoconfirmed`, "edit=autoconfirmed|move=autoconfirmed", false},
		{title, `edit=all move=all`, "edit=all|move=all", false},
		{title, `edit=autoconfirmed exact`, "edit=autoconfirmed", false},
		{title, `move=all`, "edit=sysop|move=all", false},
		{inherits, `edit=autoconfirmed`, "edit=autoconfirmed", false},
		{source, `move=autoconfirmed cascade=no`, "edit=sysop|move=autoconfirmed", false},
	}
	for _, tc := range cases {
		if err := env.Wiki.ProtectAs(ctx, user, pass, tc.page, tc.api, "infinite", tc.cascade); err == nil {
			t.Fatalf("the wiki let a semiprotector send %s on %s: the case proves nothing", tc.api, tc.page)
		}
		before := env.Protections(t, tc.page)
		n := wikiRequests(env, "protect")
		r := run(t, env, semi, fmt.Sprintf(`/protect %q %s`, tc.page, tc.line))
		if r.Outcome != commands.OutcomeDenied || r.Code != "missing-right:editprotected" {
			t.Errorf("%s %s: %s/%s, want denied/missing-right:editprotected\n%s", tc.page, tc.line, r.Outcome, r.Code, r.String())
		}
		if strings.Count(english(r.Text), "editprotected") != 1 {
			t.Errorf("%s: the denial should name editprotected once:\n%s", tc.line, r.Text)
		}
		if wikiRequests(env, "protect") != n {
			t.Errorf("%s: a refused change reached the wiki", tc.line)
		}
		if after := env.Protections(t, tc.page); fmt.Sprint(after) != fmt.Sprint(before) {
			t.Errorf("%s: the page changed from %v to %v", tc.line, before, after)
		}
		if rec := env.LastAudit(t); rec.Outcome != commands.OutcomeDenied || rec.UserID != "semi" {
			t.Errorf("%s: audited as %+v", tc.line, rec)
		}
	}
	// Where the page has only semi-protection, the group may change it,
	// here and on the wiki alike.
	semiPage := testwait.Unique("Semi Held ")
	createPage(t, env, semiPage)
	if err := env.Wiki.ProtectAs(ctx, user, pass, semiPage, "edit=autoconfirmed", "1 week", false); err != nil {
		t.Fatalf("the wiki refused a semiprotector semi-protection: %v", err)
	}
	if r := run(t, env, semi, fmt.Sprintf(`/protect %q edit=autoconfirmed move=autoconfirmed expiry="2 weeks"`, semiPage)); !r.OK() {
		t.Errorf("semi-protection by a semiprotector: %s", r.String())
	}
	if r := run(t, env, semi, fmt.Sprintf(`/protect %q edit=all move=all`, semiPage)); !r.OK() {
		t.Errorf("lifting semi-protection by a semiprotector: %s", r.String())
	}
}
