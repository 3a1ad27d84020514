package commands_test

import (
	"reflect"
	"testing"

	"github.com/wikimod/wikimod/commands"
)

func TestParseLine(t *testing.T) {
	tests := []struct {
		line  string
		name  string
		pos   []string
		named map[string]string
		err   bool
	}{
		{line: `/protect "Main Page" edit=sysop expiry="1 week" cascade`, name: "protect",
			pos: []string{"Main Page", "cascade"}, named: map[string]string{"edit": "sysop", "expiry": "1 week"}},
		{line: `protect Main Page edit=sysop`, name: "protect",
			pos: []string{"Main", "Page"}, named: map[string]string{"edit": "sysop"}},
		{line: `/PROTECT x reason="say \"no\" to spam"`, name: "protect",
			pos: []string{"x"}, named: map[string]string{"reason": `say "no" to spam`}},
		{line: `/protect "A=B" edit=sysop`, name: "protect",
			pos: []string{"A=B"}, named: map[string]string{"edit": "sysop"}},
		{line: `/protect E=mc2 edit=`, name: "protect",
			pos: []string{"E=mc2"}, named: map[string]string{"edit": ""}},
		{line: `/createaccount username=Bob password="p a s s"`, name: "createaccount",
			named: map[string]string{"username": "Bob", "password": "p a s s"}},
		{line: "  /help\tprotect  ", name: "help", pos: []string{"protect"}, named: map[string]string{}},
		{line: `/protect 'Main Page' edit=sysop`, name: "protect",
			pos: []string{"Main Page"}, named: map[string]string{"edit": "sysop"}},
		{line: "/protect \u201cMain Page\u201d edit=sysop reason=\u2018two words\u2019", name: "protect",
			pos: []string{"Main Page"}, named: map[string]string{"edit": "sysop", "reason": "two words"}},
		{line: "/protect \u201eHaupt Seite\u201c edit=sysop", name: "protect",
			pos: []string{"Haupt Seite"}, named: map[string]string{"edit": "sysop"}},
		{line: `/protect Don't panic edit=sysop reason='it's fine'`, name: "protect",
			pos: []string{"Don't", "panic"}, named: map[string]string{"edit": "sysop", "reason": "it's fine"}},
		{line: `/protect 'O'Brien family' edit=sysop`, name: "protect",
			pos: []string{"O'Brien family"}, named: map[string]string{"edit": "sysop"}},
		{line: `/protect "Main Page`, err: true},
		{line: `/protect 'Main Page edit=sysop`, err: true},
		{line: `/protect x edit=sysop edit=autoconfirmed`, err: true},
		{line: ``, err: true},
	}
	for _, tc := range tests {
		t.Run(tc.line, func(t *testing.T) {
			name, args, err := commands.ParseLine(tc.line)
			if tc.err {
				if err == nil {
					t.Fatalf("ParseLine(%q) = %q %+v, want an error", tc.line, name, args)
				}
				if e, ok := commands.AsError(err); !ok || e.Outcome != commands.OutcomeInvalid || english(e.Message) == "" {
					t.Errorf("error %v is not an invalid-input error with a message", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if name != tc.name || !reflect.DeepEqual(args.Positional, tc.pos) {
				t.Errorf("got %q %q, want %q %q", name, args.Positional, tc.name, tc.pos)
			}
			if tc.named != nil && !reflect.DeepEqual(args.Named, tc.named) {
				t.Errorf("named = %v, want %v", args.Named, tc.named)
			}
		})
	}
}

func FuzzParseLine(f *testing.F) {
	for _, s := range []string{`/protect "Main Page" edit=sysop`, `a="b\"c"`, `"`, `x=\`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		name, args, err := commands.ParseLine(line)
		if err != nil {
			if _, ok := commands.AsError(err); !ok {
				t.Fatalf("ParseLine(%q) returned a non-user error %v", line, err)
			}
			return
		}
		_ = name
		for k := range args.Named {
			if k == "" {
				t.Fatalf("empty key from %q", line)
			}
		}
	})
}

func TestPolicy(t *testing.T) {
	groupRights := map[string][]string{
		"*":         {"read", "createaccount", "editmyprivateinfo"},
		"user":      {"edit"},
		"sysop":     {"protect", "editprotected"},
		"protector": {"protect"},
	}
	p, err := commands.NewPolicy([]commands.AccessRule{
		{WikiGroups: []string{"sysop"}, Identities: []commands.Identities{commands.Groups("discord", "R1"), commands.Users("slack", "U1")}},
		{WikiGroups: []string{"protector"}, Identities: []commands.Identities{commands.Users("console", "pat"), commands.Groups("slack", "S1")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		actor commands.Actor
		need  []string
		code  string // "" = allowed
	}{
		{commands.Actor{Platform: "discord", UserID: "D9", Roles: []string{"R1"}}, []string{"protect", "editprotected"}, ""},
		{commands.Actor{Platform: "discord", UserID: "D9", Roles: []string{"R2"}}, []string{"read"}, "unmapped"},
		{commands.Actor{Platform: "slack", UserID: "U1"}, []string{"protect"}, ""},
		{commands.Actor{Platform: "slack", UserID: "U2", Roles: []string{"S1"}}, []string{"protect"}, ""},
		{commands.Actor{Platform: "slack", UserID: "U2", Roles: []string{"S1"}}, []string{"protect", "editprotected"}, "missing-right:editprotected"},
		{commands.Actor{Platform: "console", UserID: "pat"}, []string{"read", "editmyprivateinfo"}, ""},
		// An id means nothing on another platform.
		{commands.Actor{Platform: "discord", UserID: "U1"}, []string{"read"}, "unmapped"},
		{commands.Actor{Platform: "console", UserID: ""}, []string{"read"}, "unmapped"},
	}
	for _, tc := range cases {
		err := p.Check(tc.actor, commands.DefaultWiki, groupRights, tc.need...)
		switch {
		case tc.code == "" && err != nil:
			t.Errorf("%v needing %v: denied: %v", tc.actor, tc.need, err)
		case tc.code != "":
			e, ok := commands.AsError(err)
			if !ok || e.Outcome != commands.OutcomeDenied || e.Code != tc.code {
				t.Errorf("%v needing %v: got %v, want denial %s", tc.actor, tc.need, err, tc.code)
			}
		}
	}
	if _, err := commands.NewPolicy([]commands.AccessRule{{WikiGroups: []string{"sysop"}}}); err == nil {
		t.Error("a rule naming no identity was accepted")
	}
	if _, err := commands.NewPolicy([]commands.AccessRule{{Identities: []commands.Identities{commands.Users("console", "a")}}}); err == nil {
		t.Error("a rule with no wiki group was accepted")
	}
}
