package mw_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wikimod/wikimod/internal/devwiki"
	"github.com/wikimod/wikimod/mw"
)

// BenchmarkPageAndProtect measures what the client spends on the two
// requests of a /protect command with a warm session: a read of the page's
// protections and the write. The wiki is a process of its own, so the
// allocations counted are the client's alone.
func BenchmarkPageAndProtect(b *testing.B) {
	w := devwiki.Need(b, wiki)
	c, err := mw.New(mw.Config{
		APIURL:    w.APIURL,
		User:      w.BotUser,
		Password:  w.BotPassword,
		UserAgent: "wikimod-bench/0 (test@example.test)",
	})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if _, err := c.Token(ctx, "csrf"); err != nil {
		b.Fatal(err)
	}
	const title = "Main Page"
	levels := [2]string{"sysop", "autoconfirmed"}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		st, err := c.Page(ctx, title, 0)
		if err != nil {
			b.Fatal(err)
		}
		if st.Missing {
			b.Fatalf("%q is missing", title)
		}
		// Alternate the levels so that every write changes the page.
		level := levels[i%2]
		i++
		res, err := c.Protect(ctx, mw.ProtectParams{
			Title:       title,
			Protections: []mw.Protection{{Action: "edit", Level: level}, {Action: "move", Level: level}},
			Expiry:      []string{"1 week"},
			Reason:      "Benchmark: protect with a reason of a usual length (by Someone via wikimod)",
		})
		if err != nil {
			b.Fatal(err)
		}
		if len(res.Protections) != 2 {
			b.Fatalf("protections = %+v", res.Protections)
		}
	}
}

// BenchmarkPageAndProtectCanned does what BenchmarkPageAndProtect does
// against a transport that answers at once with what the wiki answers, so
// that the figures are the client's own work, without the network and the
// wiki's time. The transport's own allocations (the answers) are counted
// too; they are a few.
func BenchmarkPageAndProtectCanned(b *testing.B) {
	const (
		page    = `{"batchcomplete":true,"query":{"pages":[{"pageid":1,"ns":0,"title":"Main Page","contentmodel":"wikitext","pagelanguage":"en","pagelanguagehtmlcode":"en","pagelanguagedir":"ltr","touched":"2026-11-22T02:44:29Z","lastrevid":1,"length":755,"protection":[{"type":"edit","level":"sysop","expiry":"2026-11-29T02:44:30Z"},{"type":"move","level":"sysop","expiry":"2026-11-29T02:44:30Z"}],"restrictiontypes":["edit","move"]}]}}`
		protect = `{"protect":{"title":"Main Page","reason":"Benchmark: protect with a reason of a usual length (by Someone via wikimod)","protections":[{"edit":"autoconfirmed","expiry":"2026-11-29T02:44:30Z"},{"move":"autoconfirmed","expiry":"2026-11-29T02:44:30Z"}]}}`
		tokens  = `{"batchcomplete":true,"query":{"tokens":{"csrftoken":"04c2ccfbfab91a24451479f3fcc0515d6b02570e+\\","createaccounttoken":"04c2ccfbfab91a24451479f3fcc0515d6b02570e+\\"}}}`
	)
	rt := roundTripFunc(func(req *http.Request) (*http.Response, error) {
		h := http.Header{
			"Content-Type":  {"application/json; charset=utf-8"},
			"Cache-Control": {"private, must-revalidate, max-age=0"},
		}
		body := page
		switch {
		case req.Method == http.MethodPost:
			body = protect
			h["Set-Cookie"] = []string{"UseDC=master; Max-Age=10; path=/; HttpOnly"}
		case strings.Contains(req.URL.RawQuery, "meta=tokens"):
			body = tokens
			h["Set-Cookie"] = []string{"w_session=qr5so2075qcp04emqh1b9adrcn6iootn; path=/; HttpOnly"}
		}
		if req.Body != nil {
			io.Copy(io.Discard, req.Body)
		}
		return &http.Response{StatusCode: http.StatusOK, Header: h, Body: io.NopCloser(strings.NewReader(body)), Close: true, Request: req}, nil
	})
	c, err := mw.New(mw.Config{APIURL: "http://wiki.test/api.php", HTTPClient: &http.Client{Timeout: 30 * time.Second, Transport: rt}})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if _, err := c.Token(ctx, "csrf"); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Page(ctx, "Main Page", 0); err != nil {
			b.Fatal(err)
		}
		if _, err := c.Protect(ctx, mw.ProtectParams{
			Title:       "Main Page",
			Protections: []mw.Protection{{Action: "edit", Level: "autoconfirmed"}, {Action: "move", Level: "autoconfirmed"}},
			Expiry:      []string{"1 week"},
			Reason:      "Benchmark: protect with a reason of a usual length (by Someone via wikimod)",
		}); err != nil {
			b.Fatal(err)
		}
	}
}
