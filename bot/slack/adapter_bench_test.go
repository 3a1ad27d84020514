package slack_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	wikislack "github.com/wikimod/wikimod/bot/slack"
	"github.com/wikimod/wikimod/commands"
	"github.com/wikimod/wikimod/i18n"
)

// The benchmarks in this file measure the adapter's own work on a slash
// command, without the wiki: taking a signed request up to its
// acknowledgement, and delivering one rendered reply.
//
//	go test ./bot/slack -run '^$' -bench 'ServeCommand|Deliver' -benchmem

// queueStub takes every job at once, parsing its line as the real queue
// does, and keeps the last one.
type queueStub struct{ job commands.Job }

func (s *queueStub) Submit(_ context.Context, job commands.Job) (commands.Reply, bool) {
	if job.Line != "" {
		commands.ParseLine(job.Line)
	}
	s.job = job
	return commands.Reply{}, true
}

func (s *queueStub) Authorize(context.Context, commands.Actor, string, commands.Args) (commands.Reply, bool) {
	return commands.Reply{}, true
}

func (s *queueStub) Spec(name string) (commands.Spec, bool) {
	return commands.Spec{Name: name, Positional: "title", Write: true}, true
}

// noReplays lets every request through.
type noReplays struct{}

func (noReplays) FirstSeen(context.Context, string, string, time.Time) (bool, error) {
	return true, nil
}

// rewindable is a request body read again on every iteration.
type rewindable struct{ *strings.Reader }

func (rewindable) Close() error { return nil }

// nullWriter is a ResponseWriter that keeps nothing.
type nullWriter struct{ h http.Header }

func (w nullWriter) Header() http.Header       { return w.h }
func (nullWriter) Write(b []byte) (int, error) { return len(b), nil }
func (nullWriter) WriteHeader(int)             {}

// newBenchAdapter is an adapter in HTTP mode on q, calling the Web API at
// srv (or nowhere), with a fixed clock it returns.
func newBenchAdapter(b *testing.B, q *queueStub, srv *httptest.Server, notice string) (*wikislack.Adapter, time.Time) {
	b.Helper()
	now := time.Unix(1_780_000_000, 0)
	apiURL := "http://127.0.0.1:1/api"
	if srv != nil {
		apiURL = srv.URL + "/api"
	}
	ad, err := wikislack.New(wikislack.Config{
		Mode:          wikislack.ModeHTTP,
		SigningSecret: signingSecret,
		BotToken:      botToken,
		NoticeChannel: notice,
		APIURL:        apiURL,
		Service:       q,
		Replays:       noReplays{},
		Now:           func() time.Time { return now },
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ad.Close() })
	return ad, now
}

// BenchmarkServeCommand runs a signed /protect through the HTTP handler up
// to its acknowledgement: reading and checking the request, parsing it, and
// submitting the command.
func BenchmarkServeCommand(b *testing.B) {
	q := &queueStub{}
	ad, now := newBenchAdapter(b, q, nil, "")
	mux := http.NewServeMux()
	ad.Mount(mux)
	form := url.Values{
		"token":        {"deprecated-verification-token"},
		"team_id":      {"T-TEAM"},
		"team_domain":  {"wikimods"},
		"channel_id":   {userChannel},
		"channel_name": {"general"},
		"user_id":      {"U-ADMIN"},
		"user_name":    {"u-admin"},
		"command":      {"/protect"},
		"text":         {`"Main Page" create=sysop expiry="1 day" reason="benchmark"`},
		"api_app_id":   {"A-APP"},
		"response_url": {"https://hooks.slack.com/commands/T-TEAM/1234567890/abcdefABCDEF0123456789"},
		"trigger_id":   {"1234567890.123456789.0123456789abcdef0123456789abcdef"},
	}.Encode()
	body := strings.NewReader(form)
	req := httptest.NewRequest(http.MethodPost, "/slack/commands", nil)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Slack-Request-Timestamp", strconv.FormatInt(now.Unix(), 10))
	req.Header.Set("X-Slack-Signature", wikislack.Sign(signingSecret, now.Unix(), []byte(form)))
	req.ContentLength = int64(len(form))
	w := nullWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		body.Reset(form)
		req.Body = rewindable{body}
		req.Form, req.PostForm = nil, nil
		mux.ServeHTTP(w, req)
	}
	if q.job.Actor.UserID != "U-ADMIN" {
		b.Fatalf("the command was not submitted: %+v", q.job)
	}
}

// BenchmarkDeliver delivers a /protect result to a local response URL, and
// in and-notice also announces it in the notice channel.
func BenchmarkDeliver(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if strings.HasPrefix(r.URL.Path, "/api/") {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"ok":true,"channel":"C-NOTICE","ts":"1700000000.000100"}`)
			return
		}
		io.WriteString(w, "ok")
	}))
	b.Cleanup(srv.Close)
	reply := commands.Reply{
		Command:  "protect",
		Outcome:  commands.OutcomeOK,
		Title:    i18n.Raw("Protection of Main Page changed."),
		Text:     i18n.Raw("The wiki's log says: benchmark — requested by Slack user u-admin (U-ADMIN) via wikimod"),
		Fields:   []commands.Field{{Label: i18n.Raw("create"), Value: i18n.Raw("sysop, until 2026-11-23T02:42:20Z (in 24 hours) (new)")}},
		Announce: true,
		URL:      "http://127.0.0.1:8080/index.php/Main_Page",
	}
	for _, tc := range []struct{ name, notice string }{{"response-url", ""}, {"and-notice", noticeChannel}} {
		b.Run(tc.name, func(b *testing.B) {
			q := &queueStub{}
			ad, now := newBenchAdapter(b, q, srv, tc.notice)
			form := "command=%2Fprotect&text=x&user_id=U-ADMIN&channel_id=C-GENERAL&response_url=" + srv.URL + "%2Fresponse%2F1"
			req := httptest.NewRequest(http.MethodPost, "/slack/commands", strings.NewReader(form))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("X-Slack-Request-Timestamp", strconv.FormatInt(now.Unix(), 10))
			req.Header.Set("X-Slack-Signature", wikislack.Sign(signingSecret, now.Unix(), []byte(form)))
			mux := http.NewServeMux()
			ad.Mount(mux)
			mux.ServeHTTP(httptest.NewRecorder(), req)
			if q.job.Deliver == nil {
				b.Fatal("the command was not submitted")
			}
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				q.job.Deliver(ctx, reply)
			}
		})
	}
}
