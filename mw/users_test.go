package mw_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wikimod/wikimod/internal/devwiki"
	"github.com/wikimod/wikimod/internal/testwait"
	"github.com/wikimod/wikimod/mw"
)

// createUser makes an account on the wiki for a test.
func createUser(t *testing.T, w *devwiki.Wiki, name, email string, sysop bool) {
	t.Helper()
	if err := w.CreateUser(context.Background(), name, "Test-user-pass-"+name, email, sysop); err != nil {
		t.Fatal(err)
	}
}

func TestUserAgainstRealWiki(t *testing.T) {
	w := devwiki.Need(t, wiki)
	c := newBot(t, nil, nil)
	ctx := context.Background()
	s := testwait.Unique("")
	sysop, plain, noMail := "User Sysop "+s, "User Plain "+s, "User Nomail "+s
	createUser(t, w, sysop, "sysop@example.test", true)
	createUser(t, w, plain, "plain@example.test", false)
	createUser(t, w, noMail, "", false)

	t.Run("sysop", func(t *testing.T) {
		// The wiki spells the name as it normalizes it.
		u, err := c.User(ctx, strings.ToLower(sysop[:1])+sysop[1:])
		if err != nil {
			t.Fatal(err)
		}
		if u.Name != sysop || u.Missing || u.Invalid || u.Block != nil || !u.Emailable {
			t.Errorf("User = %+v, want %q, existing, unblocked, emailable", u, sysop)
		}
		for _, g := range []string{"sysop", "*", "user", "autoconfirmed"} {
			if !slices.Contains(u.Groups, g) {
				t.Errorf("groups %v lack %s", u.Groups, g)
			}
		}
	})
	t.Run("emailable or not", func(t *testing.T) {
		for name, want := range map[string]bool{plain: true, noMail: false} {
			u, err := c.User(ctx, name)
			if err != nil {
				t.Fatal(err)
			}
			if u.Emailable != want || u.Missing || slices.Contains(u.Groups, "sysop") {
				t.Errorf("User(%q) = %+v, want Emailable %v", name, u, want)
			}
		}
	})
	t.Run("missing", func(t *testing.T) {
		u, err := c.User(ctx, "no_such user "+s)
		if err != nil {
			t.Fatal(err)
		}
		if !u.Missing || u.Invalid || u.Name != "No such user "+s || len(u.Groups) != 0 || u.Block != nil {
			t.Errorf("User = %+v, want the normalized name, missing", u)
		}
	})
	t.Run("invalid", func(t *testing.T) {
		// "|" separates names in the request: the wiki must still answer
		// for one name, and say it is invalid.
		for _, name := range []string{"Bad[name", "127.0.0.1", sysop + "|" + plain, ""} {
			u, err := c.User(ctx, name)
			if err != nil {
				t.Fatal(err)
			}
			if !u.Invalid || u.Missing || len(u.Groups) != 0 {
				t.Errorf("User(%q) = %+v, want invalid", name, u)
			}
		}
	})
	t.Run("blocked", func(t *testing.T) {
		if err := w.Block(ctx, plain, "test block "+s); err != nil {
			t.Fatal(err)
		}
		u, err := c.User(ctx, plain)
		if err != nil {
			t.Fatal(err)
		}
		b := u.Block
		if b == nil {
			t.Fatalf("User = %+v, want a block", u)
		}
		if b.ID <= 0 || b.By != "Admin" || b.Reason != "test block "+s || !b.Expires.IsZero() || b.Partial {
			t.Errorf("block = %+v, want a sitewide block by Admin without end", *b)
		}
		if err := w.Unblock(ctx, plain); err != nil {
			t.Fatal(err)
		}
		if u, err := c.User(ctx, plain); err != nil || u.Block != nil {
			t.Errorf("after Unblock: %+v, %v", u, err)
		}
	})
	t.Run("partially blocked until a time", func(t *testing.T) {
		if err := w.BlockWith(ctx, noMail, devwiki.BlockOptions{Reason: "partial " + s, Expiry: "1 week", Pages: []string{"Main Page"}}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { w.Unblock(context.Background(), noMail) })
		u, err := c.User(ctx, noMail)
		if err != nil {
			t.Fatal(err)
		}
		b := u.Block
		if b == nil {
			t.Fatalf("User = %+v, want a block", u)
		}
		if d := time.Until(b.Expires); !b.Partial || b.Reason != "partial "+s || d < 6*24*time.Hour || d > 8*24*time.Hour {
			t.Errorf("block = %+v, want partial, ending in a week", *b)
		}
	})
}

func TestSetGroupsSeenThroughUser(t *testing.T) {
	w := devwiki.Need(t, wiki)
	c := newBot(t, nil, nil)
	ctx := context.Background()
	name := testwait.Unique("Promoted ")
	createUser(t, w, name, "", false)
	groups := func() []string {
		t.Helper()
		u, err := c.User(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		return u.Groups
	}
	if err := w.SetGroups(ctx, name, []string{"sysop"}, nil); err != nil {
		t.Fatal(err)
	}
	if g := groups(); !slices.Contains(g, "sysop") {
		t.Errorf("after adding sysop: groups %v", g)
	}
	if err := w.SetGroups(ctx, name, nil, []string{"sysop"}); err != nil {
		t.Fatal(err)
	}
	if g := groups(); slices.Contains(g, "sysop") || !slices.Contains(g, "user") {
		t.Errorf("after removing sysop: groups %v", g)
	}
}

func TestEmailUserAgainstRealWiki(t *testing.T) {
	w := devwiki.Need(t, wiki)
	var logs logBuffer
	c := newBot(t, nil, func(cfg *mw.Config) {
		cfg.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	ctx := context.Background()
	s := testwait.Unique("")
	target, noMail := "Mail Target "+s, "Mail Nomail "+s
	createUser(t, w, target, "target"+s+"@example.test", false)
	createUser(t, w, noMail, "", false)

	t.Run("delivered", func(t *testing.T) {
		before, err := w.Mail()
		if err != nil {
			t.Fatal(err)
		}
		if err := c.EmailUser(ctx, target, "Your wikimod code", "Hello,\nYour wikimod code: TESTCODE\n"); err != nil {
			t.Fatal(err)
		}
		mail, err := w.WaitMail(ctx, len(before), "Your wikimod code: TESTCODE")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(mail, "target"+s+"@example.test") {
			t.Errorf("the mail is not addressed to the target:\n%s", mail)
		}
	})

	// What each release answers when the mail cannot go out.
	newer := w.AtLeast("1.43")
	pick := func(v139, v143 string) string {
		if newer {
			return v143
		}
		return v139
	}
	noGrantUser, noGrantPass, err := w.CreateBotPassword(ctx, "Admin", "nosendemail"+s, "basic", "highvolume")
	if err != nil {
		t.Fatal(err)
	}
	noGrant := newBot(t, nil, func(cfg *mw.Config) { cfg.User, cfg.Password = noGrantUser, noGrantPass })
	cases := []struct {
		name   string
		client *mw.Client
		target string
		code   string
		reason error
	}{
		{"target without email", c, noMail, pick("noemail", "noemailtext"), mw.ErrNotEmailable},
		{"missing target", c, "No such user " + s, pick("notarget", "emailnotarget"), mw.ErrNoSuchUser},
		{"invalid target", c, "Bad[name", pick("notarget", "baduser_target"), mw.ErrNoSuchUser},
		{"bot without the sendemail grant", noGrant, target, pick("badaccess", "permissiondenied"), mw.ErrCannotSendEmail},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			marker := "MARKER-" + s + "-" + strings.ReplaceAll(tc.name, " ", "-")
			err := tc.client.EmailUser(ctx, tc.target, "Subject", "Your wikimod code: "+marker)
			var apiErr *mw.APIError
			if !errors.As(err, &apiErr) || apiErr.Code != tc.code || mw.ErrorCode(err) != tc.code {
				t.Fatalf("err = %v, want an APIError with code %s", err, tc.code)
			}
			if !errors.Is(err, tc.reason) || mw.Retryable(err) || mw.MaybeApplied(err) {
				t.Errorf("err = %v: Is(%v) %v, Retryable %v, MaybeApplied %v", err, tc.reason, errors.Is(err, tc.reason), mw.Retryable(err), mw.MaybeApplied(err))
			}
			if strings.Contains(err.Error(), marker) {
				t.Errorf("the error repeats the mail's text: %v", err)
			}
			t.Logf("%s: %v", w.Version(), err)
		})
	}
	if strings.Contains(logs.String(), "MARKER-") || strings.Contains(logs.String(), "TESTCODE") {
		t.Errorf("the client logged the mail's text:\n%s", logs.String())
	}
}

// TestEmailUserNeverEchoesText covers the answers the test wiki does not
// give: a wiki (an extension's hook) that quotes the mail in its refusal,
// and answers that are lost. The text must not come back in the error.
func TestEmailUserNeverEchoesText(t *testing.T) {
	const marker = "SECRET-CODE-4711"
	text := "Hello,\nYour wikimod code: " + marker + "\n"
	apiError := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("MediaWiki-API-Error", "spamprotectiontext")
		fmt.Fprintf(w, `{"errors":[{"code":"spamprotectiontext","text":%q,"module":"emailuser"}]}`,
			"The text you wanted to send was blocked: "+r.PostForm.Get("text"))
	}
	failure := func(w http.ResponseWriter, r *http.Request) {
		line := strings.Split(r.PostForm.Get("text"), "\n")[1]
		fmt.Fprintf(w, `{"emailuser":{"result":"Failure","errors":[{"code":"hookaborted","text":%q}]}}`, "Refused: "+line)
	}
	drop := func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			panic(err)
		}
		conn.Close()
	}
	badGateway := func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadGateway)
		io.WriteString(w, r.PostForm.Get("text"))
	}
	cases := []struct {
		name         string
		handler      http.HandlerFunc
		code         string
		maybeApplied bool
	}{
		{"API error quoting the text", apiError, "spamprotectiontext", false},
		{"failure result quoting a line", failure, "hookaborted", false},
		{"connection dropped after sending", drop, "unavailable", true},
		{"502 echoing the text", badGateway, "unavailable", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var logs logBuffer
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				r.ParseForm()
				if r.Form.Get("action") == "query" {
					io.WriteString(w, `{"query":{"tokens":{"csrftoken":"abc+\\","createaccounttoken":"def+\\"}}}`)
					return
				}
				tc.handler(w, r)
			}))
			defer srv.Close()
			c, err := mw.New(mw.Config{APIURL: srv.URL + "/api.php",
				Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
			if err != nil {
				t.Fatal(err)
			}
			err = c.EmailUser(context.Background(), "Someone", "Subject", text)
			if err == nil {
				t.Fatal("EmailUser succeeded")
			}
			if mw.ErrorCode(err) != tc.code || mw.MaybeApplied(err) != tc.maybeApplied {
				t.Errorf("err = %v: code %q, MaybeApplied %v; want %q, %v", err, mw.ErrorCode(err), mw.MaybeApplied(err), tc.code, tc.maybeApplied)
			}
			if strings.Contains(err.Error(), marker) {
				t.Errorf("the error repeats the mail's text: %v", err)
			}
			var apiErr *mw.APIError
			if errors.As(err, &apiErr) && strings.Contains(apiErr.Text, marker) {
				t.Errorf("the APIError's text repeats the mail's text: %q", apiErr.Text)
			}
			if strings.Contains(logs.String(), marker) {
				t.Errorf("the client logged the mail's text:\n%s", logs.String())
			}
		})
	}
}

func TestLatestRevisionAgainstRealWiki(t *testing.T) {
	w := devwiki.Need(t, wiki)
	c := newBot(t, nil, nil)
	ctx := context.Background()
	s := testwait.Unique("")
	name := "Editor " + s
	createUser(t, w, name, "", false)
	page := "User:" + name + "/wikimod"
	text := "Your wikimod code: TESTCODE " + s
	if err := w.EditAs(ctx, name, "Test-user-pass-"+name, page, text); err != nil {
		t.Fatal(err)
	}

	t.Run("saved by the user", func(t *testing.T) {
		rev, err := c.LatestRevision(ctx, "user:"+strings.ReplaceAll(name, " ", "_")+"/wikimod")
		if err != nil {
			t.Fatal(err)
		}
		if rev.Title != page || rev.Missing || rev.ID <= 0 || rev.User != name || rev.UserHidden || rev.Content != text {
			t.Errorf("revision = %+v, want %q saved by %q with %q", rev, page, name, text)
		}
		if d := time.Since(rev.Timestamp); d < -time.Minute || d > 5*time.Minute {
			t.Errorf("timestamp %v is not about now", rev.Timestamp)
		}
	})
	t.Run("missing page", func(t *testing.T) {
		rev, err := c.LatestRevision(ctx, "User:Nobody "+s+"/wikimod")
		if err != nil {
			t.Fatal(err)
		}
		if !rev.Missing || rev.Title != "User:Nobody "+s+"/wikimod" || rev.ID != 0 || rev.User != "" {
			t.Errorf("revision = %+v, want missing", rev)
		}
	})
	t.Run("invalid title", func(t *testing.T) {
		for title, code := range map[string]string{
			"Bad[title":         "title-invalid-characters",
			page + "|Main Page": "title-invalid-characters",
			"Talk:":             "title-invalid-empty",
			"":                  "title-invalid-empty",
			"Special:Version":   "special",
		} {
			_, err := c.LatestRevision(ctx, title)
			var titleErr *mw.InvalidTitleError
			if !errors.As(err, &titleErr) || titleErr.Code != code || mw.ErrorCode(err) != "invalidtitle" || mw.Retryable(err) {
				t.Errorf("LatestRevision(%q): %v, want an InvalidTitleError %s", title, err, code)
			}
		}
	})
}

// logBuffer collects a client's log for a test to read while the client
// may still write to it. It is mw's own rather than internal/testenv's, so
// that mw's tests build without the rest of wikimod, as mw does.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
