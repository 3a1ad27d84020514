package commands_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"sort"
	"testing"
	"time"

	"github.com/wikimod/wikimod/bot/reminders"
	"github.com/wikimod/wikimod/commands"
	"github.com/wikimod/wikimod/internal/testenv"
)

// rawSession is a logged-in session on the wiki made with net/http alone: the
// baseline a bot cannot beat.
type rawSession struct {
	api   string
	hc    *http.Client
	token string
}

func newRawSession(b *testing.B, env *testenv.Env) *rawSession {
	jar, _ := cookiejar.New(nil)
	s := &rawSession{api: env.Wiki.APIURL, hc: &http.Client{Jar: jar}}
	var tok struct {
		Query struct{ Tokens map[string]string }
	}
	s.getJSON(b, url.Values{"action": {"query"}, "meta": {"tokens"}, "type": {"login"}}, &tok)
	var login struct{ Login struct{ Result string } }
	s.postJSON(b, url.Values{"action": {"login"}, "lgname": {env.Wiki.BotUser}, "lgpassword": {env.Wiki.BotPassword},
		"lgtoken": {tok.Query.Tokens["logintoken"]}}, &login)
	if login.Login.Result != "Success" {
		b.Fatalf("raw login: %s", login.Login.Result)
	}
	s.getJSON(b, url.Values{"action": {"query"}, "meta": {"tokens"}}, &tok)
	s.token = tok.Query.Tokens["csrftoken"]
	return s
}

func (s *rawSession) getJSON(b *testing.B, v url.Values, out any) {
	v.Set("format", "json")
	resp, err := s.hc.Get(s.api + "?" + v.Encode())
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	json.NewDecoder(resp.Body).Decode(out)
}

func (s *rawSession) postJSON(b *testing.B, v url.Values, out any) {
	v.Set("format", "json")
	resp, err := s.hc.PostForm(s.api, v)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	json.NewDecoder(resp.Body).Decode(out)
}

// protect does what a /protect needs done, as raw API requests: read the
// page's current protections and the newest 50 entries of its protect log
// (for the reply's history line), then write. Each stops at the end of the
// JSON value, as the client does.
func (s *rawSession) protect(b *testing.B, title, level string) {
	var info map[string]any
	s.getJSON(b, url.Values{"action": {"query"}, "prop": {"info"}, "inprop": {"protection"}, "titles": {title},
		"list": {"logevents"}, "letype": {"protect"}, "letitle": {title}, "lelimit": {"50"}, "leprop": {"ids|title|type|user|timestamp|details"},
		"formatversion": {"2"}}, &info)
	if _, ok := info["query"]; !ok {
		b.Fatalf("raw read: %v", info)
	}
	var res map[string]any
	s.postJSON(b, url.Values{"action": {"protect"}, "title": {title}, "protections": {"create=" + level},
		"expiry": {"1 week"}, "reason": {"bench"}, "token": {s.token}, "formatversion": {"2"}}, &res)
	if _, ok := res["protect"]; !ok {
		b.Fatalf("raw protect: %v", res)
	}
}

// BenchmarkProtectOverhead runs, in one run, a warm /protect through the
// command layer as wikimod runs by default (the queue, parsing, the link
// look-up and permission check, the audit log in SQLite, the wiki client,
// and the reminders tracking the one-week protection) and the same protect
// sent directly as the raw API requests it needs (the read of the page's
// protections and protect log, and the write), alternating so both see the
// same wiki. A
// command is timed from its submission to the delivery of its reply, as a
// moderator waits for it. It reports each one's median and the ratio.
//
//	go test ./commands -run '^$' -bench ProtectOverhead -benchtime 100x
func BenchmarkProtectOverhead(b *testing.B) {
	env := testenv.New(b, wiki, testenv.Options{Linking: true, Extend: func(env *testenv.Env) ([]commands.Command, func(context.Context, commands.Actor, *commands.ProtectOutcome) error) {
		s, err := reminders.New(reminders.Config{Store: env.DB, Wikis: []reminders.Wiki{{Name: commands.DefaultWiki, Client: env.Bot}}})
		if err != nil {
			b.Fatal(err)
		}
		return s.Commands(), s.OnProtect
	}})
	raw := newRawSession(b, env)
	ctx := context.Background()
	levels := []string{"sysop", "autoconfirmed"}
	// Warm both: login, tokens, siteinfo.
	raw.protect(b, "Bench Direct", "sysop")
	if r := env.Service.ExecuteLine(ctx, admin, `/protect "Bench Command" create=sysop expiry="1 week" reason=bench`); !r.OK() {
		b.Fatal(r.String())
	}
	requestsBefore := totalRequests(env)
	var direct, command []time.Duration
	for i := 0; b.Loop(); i++ {
		level := levels[i%2]
		t0 := time.Now()
		raw.protect(b, "Bench Direct", level)
		direct = append(direct, time.Since(t0))
		t0 = time.Now()
		r := submitted(ctx, env, fmt.Sprintf(`/protect "Bench Command" create=%s expiry="1 week" reason=bench`, level))
		command = append(command, time.Since(t0))
		if !r.OK() {
			b.Fatal(r.String())
		}
	}
	n := len(command)
	dm, cm := median(direct), median(command)
	b.ReportMetric(float64(dm.Microseconds())/1000, "direct-ms")
	b.ReportMetric(float64(cm.Microseconds())/1000, "command-ms")
	b.ReportMetric(float64(cm)/float64(dm), "ratio")
	b.ReportMetric((totalRequests(env)-requestsBefore)/float64(n), "wiki-requests/command")
}

// submitted queues a command as the platforms do and returns its reply
// when it is delivered: what the moderator waits for.
func submitted(ctx context.Context, env *testenv.Env, line string) commands.Reply {
	got := make(chan commands.Reply, 1)
	if r, ok := env.Service.Submit(ctx, commands.Job{Actor: admin, Line: line, Deliver: func(_ context.Context, r commands.Reply) { got <- r }}); !ok {
		return r
	}
	return <-got
}

func totalRequests(env *testenv.Env) float64 {
	var n float64
	for _, a := range []string{"query", "login", "protect", "validatepassword", "createaccount", "resetpassword"} {
		n += env.Metrics.Value("wikimod_wiki_requests_total", "action", a)
	}
	return n
}

func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

// BenchmarkParseLine measures the command layer's own work without the
// wiki: parsing a typed line.
func BenchmarkParseLine(b *testing.B) {
	line := `/protect "Main Page" edit=sysop move=sysop expiry="1 week" reason="long-term vandalism" cascade`
	for b.Loop() {
		if _, _, err := commands.ParseLine(line); err != nil {
			b.Fatal(err)
		}
	}
}
