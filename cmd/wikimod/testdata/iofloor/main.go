// Command iofloor does the input and output one Slack /protect costs
// wikimod, and nothing else: it takes the command's POST and acknowledges
// it, writes a replay key and an audit row, and on a worker reads the page
// from the wiki, posts a write to it, writes the audit row twice more and a
// tracked protection, and posts the reply to the response URL: as many
// bytes as wikimod's reply to the same command, in the same Block Kit
// shape, written from a fixed text. No signature check, no parsing beyond
// the form and the quoted title, no permissions, no rendering.
//
// BenchmarkCommandCost runs it as the floor the bot's own figures are
// measured against: what the same requests and SQLite writes cost a Go
// process on the same machine.
//
//	iofloor LISTEN WIKI_API_URL DATABASE
package main

import (
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
)

const schema = `
CREATE TABLE IF NOT EXISTS replays (key TEXT PRIMARY KEY, expires_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS audit (id INTEGER PRIMARY KEY, time_ms INTEGER NOT NULL, user_id TEXT NOT NULL,
	command TEXT NOT NULL, args TEXT NOT NULL, outcome TEXT NOT NULL, detail TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS protections (id INTEGER PRIMARY KEY, title TEXT NOT NULL, type TEXT NOT NULL,
	level TEXT NOT NULL, expiry_ms INTEGER NOT NULL, UNIQUE (title, type));`

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

func main() {
	if len(os.Args) != 4 {
		log.Fatal("usage: iofloor LISTEN WIKI_API_URL DATABASE")
	}
	listen, api, path := os.Args[1], os.Args[2], os.Args[3]
	db, err := sql.Open("sqlite3", "file:"+path+"?_journal_mode=WAL&_synchronous=NORMAL&_busy_timeout=5000&_txlock=immediate")
	if err != nil {
		log.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(schema); err != nil {
		log.Fatal(err)
	}
	prepare := func(q string) *sql.Stmt {
		st, err := db.Prepare(q)
		if err != nil {
			log.Fatal(err)
		}
		return st
	}
	replay := prepare(`INSERT INTO replays (key, expires_ms) VALUES (?, ?)`)
	begin := prepare(`INSERT INTO audit (time_ms, user_id, command, args, outcome) VALUES (?, ?, ?, ?, 'queued')`)
	outcome := prepare(`UPDATE audit SET outcome = ?, detail = ? WHERE id = ?`)
	track := prepare(`INSERT INTO protections (title, type, level, expiry_ms) VALUES (?, 'create', 'sysop', ?)
		ON CONFLICT (title, type) DO UPDATE SET expiry_ms = excluded.expiry_ms`)

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
				outcome.Exec("pending", "", c.audit)
				// The page and its protect log in one read, as a bot that
				// tells the page's protection history must read them.
				req, _ := http.NewRequest(http.MethodGet, api+"?action=query&format=json&formatversion=2&prop=info&inprop=protection&titles="+url.QueryEscape(text)+
					"&list=logevents&letype=protect&lelimit=50&leprop=ids%7Ctitle%7Ctype%7Cuser%7Ctimestamp%7Cdetails&letitle="+url.QueryEscape(text), nil)
				call(req)
				if v := post(api, url.Values{"action": {"protect"}, "format": {"json"}, "formatversion": {"2"}, "title": {text},
					"protections": {"create=sysop"}, "expiry": {"1 day"}, "token": {token}}); len(v.Errors) > 0 {
					log.Printf("protect %s: %s", text, v.Errors)
				}
				track.Exec(text, time.Now().Add(24*time.Hour).UnixMilli())
				outcome.Exec("ok", "", c.audit)
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
		if _, err := replay.Exec(r.Header.Get("X-Slack-Signature"), now.Add(5*time.Minute).UnixMilli()); err != nil {
			http.Error(w, "replayed", http.StatusUnauthorized)
			return
		}
		res, err := begin.Exec(now.UnixMilli(), form.Get("user_id"), form.Get("command"), form.Get("text"))
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
