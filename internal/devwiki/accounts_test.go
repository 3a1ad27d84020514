package devwiki_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/wikimod/wikimod/internal/devwiki"
	"github.com/wikimod/wikimod/internal/testwait"
)

// userState is what list=users says about one account.
type userState struct {
	Groups  []string `json:"groups"`
	BlockID int64    `json:"blockid"`
	Reason  string   `json:"blockreason"`
}

func lookUpUser(t *testing.T, w *devwiki.Wiki, name string) userState {
	t.Helper()
	var res struct {
		Query struct {
			Users []userState `json:"users"`
		} `json:"query"`
	}
	getJSON(t, w.APIURL+"?"+url.Values{"action": {"query"}, "list": {"users"}, "ususers": {name},
		"usprop": {"groups|blockinfo"}, "format": {"json"}, "formatversion": {"2"}}.Encode(), &res)
	if len(res.Query.Users) != 1 {
		t.Fatalf("list=users for %q: %+v", name, res)
	}
	return res.Query.Users[0]
}

// TestAccountHelpers: SetGroups, Block, Unblock and EditAs do what they say,
// as anyone reading the wiki sees it.
func TestAccountHelpers(t *testing.T) {
	w := devwiki.Need(t, wiki)
	ctx := context.Background()
	name := testwait.Unique("Helper User ")
	const password = "Helper-user-pass-9"
	if err := w.CreateUser(ctx, name, password, "", false); err != nil {
		t.Fatal(err)
	}

	if err := w.SetGroups(ctx, name, []string{"sysop", "bot"}, nil); err != nil {
		t.Fatal(err)
	}
	if g := lookUpUser(t, w, name).Groups; !slices.Contains(g, "sysop") || !slices.Contains(g, "bot") {
		t.Errorf("after adding sysop and bot: groups %v", g)
	}
	if err := w.SetGroups(ctx, name, nil, []string{"sysop"}); err != nil {
		t.Fatal(err)
	}
	if g := lookUpUser(t, w, name).Groups; slices.Contains(g, "sysop") || !slices.Contains(g, "bot") {
		t.Errorf("after removing sysop: groups %v", g)
	}

	if err := w.Block(ctx, name, "harness block"); err != nil {
		t.Fatal(err)
	}
	if u := lookUpUser(t, w, name); u.BlockID == 0 || u.Reason != "harness block" {
		t.Errorf("after Block: %+v", u)
	}
	if err := w.Block(ctx, name, "harness block again"); err != nil {
		t.Errorf("blocking a blocked user again: %v", err)
	}
	if err := w.Unblock(ctx, name); err != nil {
		t.Fatal(err)
	}
	if u := lookUpUser(t, w, name); u.BlockID != 0 {
		t.Errorf("after Unblock: %+v", u)
	}

	page := "User:" + name + "/harness"
	if err := w.EditAs(ctx, name, password, page, "saved by the harness"); err != nil {
		t.Fatal(err)
	}
	var rev struct {
		Query struct {
			Pages []struct {
				Revisions []struct {
					User  string `json:"user"`
					Slots struct {
						Main struct{ Content string } `json:"main"`
					} `json:"slots"`
				} `json:"revisions"`
			} `json:"pages"`
		} `json:"query"`
	}
	getJSON(t, w.APIURL+"?"+url.Values{"action": {"query"}, "prop": {"revisions"}, "titles": {page},
		"rvprop": {"user|content"}, "rvslots": {"main"}, "format": {"json"}, "formatversion": {"2"}}.Encode(), &rev)
	if p := rev.Query.Pages; len(p) != 1 || len(p[0].Revisions) != 1 || p[0].Revisions[0].User != name ||
		p[0].Revisions[0].Slots.Main.Content != "saved by the harness" {
		t.Errorf("revision of %s: %+v", page, rev)
	}

	err := w.EditAs(ctx, name, "not-the-password-42", page, "x")
	if err == nil || strings.Contains(err.Error(), "not-the-password-42") {
		t.Errorf("EditAs with a wrong password: %v, want an error that does not repeat the password", err)
	}
}

// TestBotSendsMail: the bot password Start creates may mail users, from
// Admin's address, and more often than the wiki's default limit of 20 a
// day would allow, also without the highvolume grant.
func TestBotSendsMail(t *testing.T) {
	w := devwiki.Need(t, wiki)
	ctx := context.Background()
	suffix := testwait.Unique("")
	target := "Mail Harness " + suffix
	if err := w.CreateUser(ctx, target, "Mail-harness-pass-3", "harness"+suffix+"@example.test", false); err != nil {
		t.Fatal(err)
	}
	send := func(s *session, text string) string {
		t.Helper()
		var tok struct {
			Query struct {
				Tokens struct{ CSRFToken string } `json:"tokens"`
			} `json:"query"`
		}
		s.call(http.MethodGet, url.Values{"action": {"query"}, "meta": {"tokens"}}, &tok)
		var res struct {
			EmailUser struct{ Result string } `json:"emailuser"`
			Error     struct{ Code string }   `json:"error"`
		}
		s.call(http.MethodPost, url.Values{"action": {"emailuser"}, "target": {target}, "subject": {"harness"},
			"text": {text}, "token": {tok.Query.Tokens.CSRFToken}}, &res)
		return res.EmailUser.Result + res.Error.Code
	}

	bot := newSession(t, w)
	bot.login(w.BotUser, w.BotPassword)
	before, err := w.Mail()
	if err != nil {
		t.Fatal(err)
	}
	if got := send(bot, "harness mail "+suffix); got != "Success" {
		t.Fatalf("emailuser from the bot: %s", got)
	}
	mail, err := w.WaitMail(ctx, len(before), "harness mail "+suffix)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(mail, devwiki.AdminEmail) {
		t.Errorf("the mail does not come from Admin's address:\n%s", mail)
	}

	user, pass, err := w.CreateBotPassword(ctx, "Admin", "mailer"+suffix, "basic", "sendemail")
	if err != nil {
		t.Fatal(err)
	}
	limited := newSession(t, w)
	limited.login(user, pass)
	for i := range 25 {
		if got := send(limited, fmt.Sprintf("mail %d of many", i)); got != "Success" {
			t.Fatalf("mail %d: %s", i, got)
		}
	}
}
