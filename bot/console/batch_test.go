package console_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/wikimod/wikimod/bot/console"
	"github.com/wikimod/wikimod/internal/testenv"
	"github.com/wikimod/wikimod/internal/testwait"
)

// TestBatchConfirmedByTheNextLine: on the console, a /protect of many
// pages prints its preview and asks; the next line y confirms and the
// pages are protected, anything else declines and nothing is.
func TestBatchConfirmedByTheNextLine(t *testing.T) {
	env := testenv.New(t, wiki, testenv.Options{})
	ctx := context.Background()
	cat := testwait.Unique("Console Batch ")
	var titles []string
	for i := range 2 {
		title := fmt.Sprintf("%s page %d", cat, i)
		if _, err := env.Bot.Post(ctx, "csrf", map[string][]string{"action": {"edit"}, "title": {title},
			"text": {"[[Category:" + cat + "]]"}, "createonly": {"1"}}, nil); err != nil {
			t.Fatal(err)
		}
		titles = append(titles, title)
	}
	testwait.For(t, "the category's pages", func() bool {
		list, err := env.Bot.CategoryMembers(ctx, cat, 3)
		return err == nil && len(list.Titles) == 2
	})
	consoleRun := func(in string) string {
		t.Helper()
		var out bytes.Buffer
		a, err := console.New(console.Config{Service: env.Service, User: "admin", In: strings.NewReader(in), Out: &out})
		if err != nil {
			t.Fatal(err)
		}
		if err := a.Run(ctx); err != nil {
			t.Fatal(err)
		}
		return out.String()
	}
	out := consoleRun(fmt.Sprintf("/protect category=%q edit=sysop\nno\n", cat))
	if !strings.Contains(out, "Protect 2 pages?") || !strings.Contains(out, "Type y to confirm; anything else cancels.") ||
		!strings.Contains(out, "Batch cancelled") {
		t.Errorf("declined:\n%s", out)
	}
	for _, title := range titles {
		if ps := env.Protections(t, title); len(ps) != 0 {
			t.Errorf("%s protected after n: %v", title, ps)
		}
	}
	out = consoleRun(fmt.Sprintf("/protect category=%q edit=sysop\ny\n", cat))
	if !strings.Contains(out, "Batch done: 2 changed, 0 already so, 0 refused") {
		t.Errorf("confirmed:\n%s", out)
	}
	for _, title := range titles {
		if ps := env.Protections(t, title); ps["edit"].Level != "sysop" {
			t.Errorf("%s after y: %v", title, ps)
		}
	}
}
