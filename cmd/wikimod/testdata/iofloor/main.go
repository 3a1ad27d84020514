// Command iofloor does the input and output one Slack /protect costs
// wikimod, and nothing else: it takes the command's POST and acknowledges
// it, writes a replay key and begins an audit row, and on a worker starts
// the row, looks up the person's link, reads the page from the wiki, posts
// a write to it, finishes the row, tracks the protection with its
// reminders, and posts the reply to the response URL: as many bytes as
// wikimod's reply to the same command, in the same Block Kit shape,
// written from a fixed text. Its SQLite statements are wikimod's own, on
// the schema wikimod's storage makes. No signature check, no parsing
// beyond the form and the quoted title, no permissions, no rendering.
//
// BenchmarkCommandCost runs it as the floor the bot's own figures are
// measured against: what the same requests and SQLite reads and writes
// cost a Go process on the same machine.
//
//	iofloor LISTEN WIKI_API_URL DATABASE
package main

import (
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"runtime"
	"strings"
	"time"

	_ "github.com/mattn/go-sqlite3"

	"github.com/wikimod/wikimod/storage"
)

// wikimod's own statements, on wikimod's own schema (made by
// storage.Open), so that the floor's SQLite work per command is the
// bot's: the replay key, the audit row begun, started and finished, the
// link looked up, and the protection tracked with its reminders in one
// transaction that first reads what the page has tracked.
const (
	replaySQL = `INSERT INTO replays (platform, key_hash, expires_ms) VALUES (?, ?, ?)
		ON CONFLICT (platform, key_hash) DO UPDATE SET expires_ms = excluded.expires_ms
		WHERE replays.expires_ms <= ?`
	beginSQL = `INSERT INTO audit
		(time_ms, wiki, platform, user_id, user_name, wiki_user, channel, command, args, outcome, code, owner)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	startSQL  = `UPDATE audit SET outcome = 'pending' WHERE id = ? AND outcome = 'queued'`
	finishSQL = `UPDATE audit SET outcome = ?, code = ?, result = ?, duration_us = ?,
		wiki_user = COALESCE(NULLIF(?, ''), wiki_user), wiki = COALESCE(NULLIF(?, ''), wiki)
		WHERE id = ? AND outcome IN ('queued', 'pending')`
	linkSQL             = `SELECT wiki_user, method, linked_ms FROM links WHERE wiki = ? AND platform = ? AND user_id = ?`
	trackedSQL          = `SELECT id, type, level, expiry_ms FROM protections WHERE wiki = ? AND title = ?`
	insertProtectionSQL = `INSERT INTO protections
		(wiki, title, type, level, expiry_ms, length_ms, cascading, set_by, set_by_id, platform, channel, reason, url, set_ms, updated_ms)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	scheduleRemindersSQL = `INSERT INTO reminders (protection_id, expiry_ms, lead_ms, remind_ms, next_ms)
		SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 3 FROM json_each(?) ORDER BY key`
)

type command struct {
	audit int64
	form  url.Values
}

// The reply posted to the response URL: a Slack message of the shape and
// size wikimod posts for the same command (the fallback text, a section
// with the title and the log's words, one with the protection, and a
// context with the page's link), written out with the values put in, so
// that both exchanges carry the same bytes.
type (
	text struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	block struct {
		Type     string `json:"type"`
		Text     *text  `json:"text,omitempty"`
		Fields   []text `json:"fields,omitempty"`
		Elements []text `json:"elements,omitempty"`
	}
	message struct {
		Text            string  `json:"text"`
		Blocks          []block `json:"blocks"`
		ResponseType    string  `json:"response_type"`
		ReplaceOriginal bool    `json:"replace_original"`
		DeleteOriginal  bool    `json:"delete_original"`
	}
)

func slackReply(title, api string, until time.Time) message {
	page := strings.TrimSuffix(api, "api.php") + "index.php/" + strings.ReplaceAll(title, " ", "_")
	head := "Protection of " + title + " changed."
	log := "The wiki's log says: benchmark — requested by Slack user ops (U-OPS) via wikimod\nThis is the first protection of this page in the wiki's log."
	date := fmt.Sprintf("<!date^%d^{date_short_pretty} {time}|%s> (<!date^%d^{ago}|%s>)", until.Unix(), until.UTC().Format("2006-01-02 15:04 UTC"), until.Unix(), until.UTC().Format("2006-01-02 15:04 UTC"))
	level := "Allow only administrators (sysop), until " + date + " (new)"
	return message{
		Text: head + "\n" + log + "\n  Create (create): " + level + "\n  " + page,
		Blocks: []block{
			{Type: "section", Text: &text{Type: "mrkdwn", Text: ":white_check_mark: *" + head + "*\n" + log}},
			{Type: "section", Fields: []text{{Type: "mrkdwn", Text: "*Create (create)*\n" + level}}},
			{Type: "context", Elements: []text{{Type: "mrkdwn", Text: "<" + page + "|Open on the wiki>"}}},
		},
		ResponseType: "ephemeral",
	}
}

// track records the protection as wikimod's reminders do: in one
// transaction, what the page has tracked is read, the protection inserted
// and its reminders scheduled.
func track(db *sql.DB, title, user string, now, expiry time.Time) {
	tx, err := db.Begin()
	if err != nil {
		log.Print(err)
		return
	}
	defer tx.Rollback()
	rows, err := tx.Query(trackedSQL, "default", title)
	if err != nil {
		log.Print(err)
		return
	}
	for rows.Next() {
	}
	rows.Close()
	res, err := tx.Exec(insertProtectionSQL, "default", title, "create", "sysop", expiry.UnixMilli(), (24 * time.Hour).Milliseconds(), false,
		"ops", user, "slack", "C-SLACK", "benchmark", "", now.UnixMilli(), now.UnixMilli())
	if err != nil {
		log.Print(err)
		return
	}
	id, _ := res.LastInsertId()
	// At its end, and an hour before (a day before is already past).
	if _, err := tx.Exec(scheduleRemindersSQL, fmt.Sprintf("[[%d,%d,0,%d],[%d,%d,%d,%d]]", id, expiry.UnixMilli(), expiry.UnixMilli(),
		id, expiry.UnixMilli(), time.Hour.Milliseconds(), expiry.Add(-time.Hour).UnixMilli())); err != nil {
		log.Print(err)
		return
	}
	if err := tx.Commit(); err != nil {
		log.Print(err)
	}
}

func main() {
	if len(os.Args) != 4 {
		log.Fatal("usage: iofloor LISTEN WIKI_API_URL DATABASE")
	}
	listen, api, path := os.Args[1], os.Args[2], os.Args[3]
	schema, err := storage.Open(path, storage.Options{})
	if err != nil {
		log.Fatal(err)
	}
	schema.Close()
	db, err := sql.Open("sqlite3", "file:"+path+"?_journal_mode=WAL&_synchronous=NORMAL&_busy_timeout=5000&_txlock=immediate")
	if err != nil {
		log.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	prepare := func(q string) *sql.Stmt {
		st, err := db.Prepare(q)
		if err != nil {
			log.Fatal(err)
		}
		return st
	}
	replay, begin, start, finish := prepare(replaySQL), prepare(beginSQL), prepare(startSQL), prepare(finishSQL)
	link := prepare(linkSQL)

	jar, _ := cookiejar.New(nil)
	client := &http.Client{Timeout: 30 * time.Second, Jar: jar, Transport: &http.Transport{MaxIdleConnsPerHost: 32}}
	type answer struct {
		Query struct {
			Tokens struct {
				Login string `json:"logintoken"`
				CSRF  string `json:"csrftoken"`
			} `json:"tokens"`
		} `json:"query"`
		Login struct {
			Result string `json:"result"`
		} `json:"login"`
		Errors json.RawMessage `json:"errors"`
	}
	call := func(req *http.Request) (v answer) {
		resp, err := client.Do(req)
		if err != nil {
			log.Print(err)
			return v
		}
		defer resp.Body.Close()
		json.NewDecoder(resp.Body).Decode(&v)
		io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		return v
	}
	post := func(to string, form url.Values) answer {
		req, _ := http.NewRequest(http.MethodPost, to, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return call(req)
	}
	req, _ := http.NewRequest(http.MethodGet, api+"?action=query&meta=tokens&type=login&format=json&formatversion=2", nil)
	login := post(api, url.Values{"action": {"login"}, "format": {"json"}, "formatversion": {"2"},
		"lgname": {os.Getenv("IOFLOOR_USER")}, "lgpassword": {os.Getenv("IOFLOOR_PASSWORD")}, "lgtoken": {call(req).Query.Tokens.Login}})
	if login.Login.Result != "Success" {
		log.Fatalf("login: %q", login.Login.Result)
	}
	req, _ = http.NewRequest(http.MethodGet, api+"?action=query&meta=tokens&format=json&formatversion=2", nil)
	token := call(req).Query.Tokens.CSRF

	work := make(chan command, 1024)
	for range 4 {
		go func() {
			for c := range work {
				// The page is the quoted title the command starts with, as
				// wikimod reads it (no parsing beyond that).
				text := c.form.Get("text")
				if rest, ok := strings.CutPrefix(text, `"`); ok {
					text, _, _ = strings.Cut(rest, `"`)
				}
				started := time.Now()
				if _, err := start.Exec(c.audit); err != nil {
					log.Print(err)
				}
				var wikiUser, method string
				var linked int64
				link.QueryRow("default", "slack", c.form.Get("user_id")).Scan(&wikiUser, &method, &linked)
				// The page and its protect log in one read, as a bot that
				// tells the page's protection history must read them.
				req, _ := http.NewRequest(http.MethodGet, api+"?action=query&format=json&formatversion=2&prop=info&inprop=protection&titles="+url.QueryEscape(text)+
					"&list=logevents&letype=protect&lelimit=50&leprop=ids%7Ctitle%7Ctype%7Cuser%7Ctimestamp%7Cdetails&letitle="+url.QueryEscape(text), nil)
				call(req)
				if v := post(api, url.Values{"action": {"protect"}, "format": {"json"}, "formatversion": {"2"}, "title": {text},
					"protections": {"create=sysop"}, "expiry": {"1 day"}, "token": {token}}); len(v.Errors) > 0 {
					log.Printf("protect %s: %s", text, v.Errors)
				}
				now := time.Now()
				expiry := now.Add(24 * time.Hour)
				_, err := finish.Exec("ok", "", `{"protections":[{"type":"create","level":"sysop","expiry":"`+expiry.UTC().Format(time.RFC3339)+`"}]}`,
					now.Sub(started).Microseconds(), "", "default", c.audit)
				if err != nil {
					log.Print(err)
				}
				track(db, text, c.form.Get("user_id"), now, expiry)
				reply, _ := json.Marshal(slackReply(text, api, time.Now().Add(24*time.Hour)))
				req, _ = http.NewRequest(http.MethodPost, c.form.Get("response_url"), strings.NewReader(string(reply)))
				req.Header.Set("Content-Type", "application/json")
				call(req)
			}
		}()
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /slack/commands", func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
		if err != nil {
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		form, err := url.ParseQuery(string(b))
		if err != nil {
			http.Error(w, "bad form", http.StatusBadRequest)
			return
		}
		now := time.Now()
		key := sha256.Sum256([]byte(r.Header.Get("X-Slack-Signature")))
		if _, err := replay.Exec("slack", key[:], now.Add(5*time.Minute).UnixMilli(), now.UnixMilli()); err != nil {
			http.Error(w, "replayed", http.StatusUnauthorized)
			return
		}
		args, _ := json.Marshal(map[string]string{"_": form.Get("text")})
		res, err := begin.Exec(now.UnixMilli(), "default", "slack", form.Get("user_id"), form.Get("user_name"), "", form.Get("channel_id"),
			strings.TrimPrefix(form.Get("command"), "/"), string(args), "queued", "", "iofloor")
		if err != nil {
			http.Error(w, "audit", http.StatusInternalServerError)
			return
		}
		id, _ := res.LastInsertId()
		work <- command{audit: id, form: form}
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok\n") })
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		fmt.Fprintf(w, "go_memstats_alloc_bytes_total %d\ngo_memstats_mallocs_total %d\n", m.TotalAlloc, m.Mallocs)
	})
	log.Fatal(http.ListenAndServe(listen, mux))
}
