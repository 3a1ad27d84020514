package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wikimod/wikimod/bot/discord/discordtest"
	wikislack "github.com/wikimod/wikimod/bot/slack"
	"github.com/wikimod/wikimod/commands"
	"github.com/wikimod/wikimod/internal/devwiki"
	"github.com/wikimod/wikimod/internal/testenv"
	"github.com/wikimod/wikimod/internal/testwait"
	"github.com/wikimod/wikimod/storage"
)

// farmWikis is the [wikis.*] part of a config serving the two test wikis
// as en (wiki) and de (wiki2).
func farmWikis(t *testing.T) string {
	t.Helper()
	devwiki.Need(t, wiki2)
	return fmt.Sprintf(`[wikis.en]
api_url = %q
bot_user = %q
bot_password = %q
contact = "ops@example.test"
notice_channels = { discord = "N-EN" }

[wikis.de]
api_url = %q
bot_user = %q
bot_password = %q
`, wiki.APIURL, wiki.BotUser, wiki.BotPassword, wiki2.APIURL, wiki2.BotUser, wiki2.BotPassword)
}

func writeIn(t *testing.T, dir, name, text string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestFarmConfig: a farm's config is checked with each wiki named in the
// messages, its secrets come from per-wiki environment variables, and
// mixing [wiki] with [wikis.*] is refused with a way out.
func TestFarmConfig(t *testing.T) {
	t.Setenv("WIKIMOD_BOT_PASSWORD_EN_GB", "from-env")
	base := `[wikis.en-gb]
api_url = "https://en.example.org/w/api.php"
bot_user = "Wikimod@wikimod"
`
	cfg, err := ParseConfig(base, "t")
	if err != nil {
		t.Fatal(err)
	}
	farm := cfg.Farm()
	if len(farm) != 1 || farm[0].Name != "en-gb" || farm[0].BotPassword != "from-env" || farm[0].Timeout.Duration != 30*time.Second || farm[0].MaxConcurrent != 4 {
		t.Errorf("farm = %+v", farm)
	}
	cases := []struct{ text, want string }{
		{"[wiki]\napi_url = \"https://x.example.org/w/api.php\"\n" + base, "both [wiki] and [wikis.NAME]"},
		{strings.Replace(base, "en-gb", "EN", 1), "[wikis.EN]: a wiki's name"},
		{base + "[wikis.de]\napi_url = \"https://de.example.org/w/api.php\"\nbot_user = \"W@w\"\n", "WIKIMOD_BOT_PASSWORD_DE"},
		{base + "[discord]\nguild_wikis = { \"400\" = \"fr\" }\n", `discord.guild_wikis: 400 names the wiki "fr"`},
		{base + "[slack]\nchannel_wikis = { \"C1\" = \"fr\" }\n", `slack.channel_wikis: C1 names the wiki "fr"`},
		{base + "[[access]]\nwikis = [\"fr\"]\nwiki_groups = [\"sysop\"]\nconsole_users = [\"a\"]\n", `access rule 1: wikis names "fr"`},
		{strings.Replace(base, "[wikis.en-gb]", "[wikis.en-gb]\nnotice_channels = { matrix = \"x\" }", 1), `"matrix" is not a platform`},
	}
	for _, tc := range cases {
		if _, err := ParseConfig(tc.text, "t"); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("config error = %v, want it to mention %q", err, tc.want)
		}
	}
}

// TestFarmServesDiscordAndSlack: one process serves two real wikis. A
// Discord server's default wiki and a Slack channel's pick where commands
// go; wiki= overrides them; replies name the wiki; a wiki that stops makes
// /healthz name it while the other keeps working; the audit log and the
// metrics carry the wiki.
func TestFarmServesDiscordAndSlack(t *testing.T) {
	t.Setenv("WIKIMOD_DISCORD_BOT_TOKEN", "")
	api := discordtest.NewServer(t)
	signer := discordtest.NewSigner()
	var (
		mu      sync.Mutex
		webhook = map[string]string{}
	)
	slackStandIn := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		webhook[r.URL.Path] = string(b)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"ok":true}`)
	}))
	defer slackStandIn.Close()
	const secret = "farm-signing-secret"
	dir := t.TempDir()
	path := writeIn(t, dir, "wikimod.toml", farmWikis(t)+fmt.Sprintf(`
[storage]
path = %q

[http]
listen = %q

[[access]]
wiki_groups = ["sysop"]
discord_users = ["D-ADMIN"]
slack_users = ["U-OPS"]

[discord]
mode = "http"
application_id = "APP7"
public_key = %q
bot_token = "farm-bot-token"
guild_ids = ["G1", "G2"]
api_url = %q
guild_wikis = { "G1" = "de" }

[slack]
mode = "http"
signing_secret = %q
bot_token = "xoxb-farm"
api_url = %q
channel_wikis = { "C-EN" = "en" }
team_wikis = { "T1" = "de" }
`, filepath.Join(dir, "wikimod.db"), freeAddr(t), signer.PublicKeyHex(), api.URL, secret, slackStandIn.URL+"/api"))
	cfg, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	clock := testenv.NewClock(time.Now())
	app, base, stop := startApp(t, cfg, AppOptions{Now: clock.Now})

	discordProtect := func(id, guild, title string, extra string) string {
		t.Helper()
		body := []byte(`{"id":"` + id + `","application_id":"APP7","type":2,"token":"tok` + id + `","version":1,"guild_id":"` + guild + `","channel_id":"C5",
			"member":{"user":{"id":"D-ADMIN","username":"admin"},"roles":[]},
			"data":{"id":"c","name":"protect","type":1,"options":[{"name":"title","type":3,"value":"` + title + `"},{"name":"create","type":3,"value":"sysop"}` + extra + `]}}`)
		resp, err := http.DefaultClient.Do(signer.Request(base+"/discord/interactions", body, clock.Now()))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		var e struct {
			Embeds []struct {
				Title       string `json:"title"`
				Description string `json:"description"`
			} `json:"embeds"`
		}
		api.WaitEdit(t, "APP7", "tok"+id).JSON(t, &e)
		if len(e.Embeds) != 1 {
			t.Fatalf("edit has %d embeds", len(e.Embeds))
		}
		return e.Embeds[0].Title + "\n" + e.Embeds[0].Description
	}
	slackProtect := func(n int, team, channel, text string) string {
		t.Helper()
		form := url.Values{"user_id": {"U-OPS"}, "user_name": {"ops"}, "team_id": {team}, "channel_id": {channel}, "command": {"/protect"},
			"text": {text}, "response_url": {slackStandIn.URL + "/response/" + strconv.Itoa(n)}, "trigger_id": {"t"}}
		body := form.Encode()
		req, _ := http.NewRequest(http.MethodPost, base+"/slack/commands", strings.NewReader(body))
		ts := clock.Now().Unix()
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Slack-Request-Timestamp", strconv.FormatInt(ts, 10))
		req.Header.Set("X-Slack-Signature", wikislack.Sign(secret, ts, []byte(body)))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		var got string
		testwait.For(t, fmt.Sprintf("Slack reply %d", n), func() bool {
			mu.Lock()
			defer mu.Unlock()
			var ok bool
			got, ok = webhook["/response/"+strconv.Itoa(n)]
			return ok
		})
		var msg struct{ Text string }
		json.Unmarshal([]byte(got), &msg)
		return msg.Text
	}
	level := func(w *devwiki.Wiki, title string) string {
		t.Helper()
		for _, wk := range app.wikis {
			if app.urls[wk.Name] == w.APIURL {
				ps, err := wk.Client.PageProtections(context.Background(), title)
				if err != nil {
					t.Fatal(err)
				}
				for _, p := range ps {
					if p.Type == "create" {
						return p.Level
					}
				}
				return ""
			}
		}
		t.Fatal("no such wiki")
		return ""
	}

	stamp := testwait.Unique("")
	onDE := fmt.Sprintf("Farm Discord G1 %s", stamp)
	if r := discordProtect("901", "G1", onDE, ""); !strings.HasPrefix(r, "[de] Protection of "+onDE) {
		t.Errorf("Discord in G1: %s", r)
	}
	onEN := fmt.Sprintf("Farm Discord wiki %s", stamp)
	if r := discordProtect("902", "G1", onEN, `,{"name":"wiki","type":3,"value":"en"}`); !strings.HasPrefix(r, "[en] Protection of "+onEN) {
		t.Errorf("Discord in G1 with wiki=en: %s", r)
	}
	if r := discordProtect("903", "G2", "Anything", ""); !strings.Contains(r, "has no default wiki") || !strings.Contains(r, "`de` and `en`") {
		t.Errorf("Discord in G2: %s", r)
	}
	slackEN := fmt.Sprintf("Farm Slack C-EN %s", stamp)
	if r := slackProtect(1, "T1", "C-EN", `"`+slackEN+`" create=sysop`); !strings.Contains(r, "[en] Protection of "+slackEN) {
		t.Errorf("Slack in C-EN: %s", r)
	}
	slackDE := fmt.Sprintf("Farm Slack T1 %s", stamp)
	if r := slackProtect(2, "T1", "C-OTHER", `"`+slackDE+`" create=sysop`); !strings.Contains(r, "[de] Protection of "+slackDE) {
		t.Errorf("Slack in T1: %s", r)
	}
	for title, want := range map[string][2]string{onDE: {"", "sysop"}, onEN: {"sysop", ""}, slackEN: {"sysop", ""}, slackDE: {"", "sysop"}} {
		if en, de := level(wiki, title), level(wiki2, title); en != want[0] || de != want[1] {
			t.Errorf("%s: en %q de %q, want %q %q", title, en, de, want[0], want[1])
		}
	}
	// The announcement of a protection on en goes to en's notice channel.
	api.Wait(t, "an announcement in N-EN", func(r discordtest.Request) bool {
		return r.Path == "/api/v9/channels/N-EN/messages" && bytes.Contains(r.Body, []byte(onEN))
	})

	// de stops answering: /healthz names it and stays up; en still works.
	if err := wiki2.Freeze(); err != nil {
		t.Fatal(err)
	}
	thawed := false
	defer func() {
		if !thawed {
			wiki2.Thaw()
		}
	}()
	clock.Add(healthEvery)
	resp, body := get(t, base+"/healthz")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"degraded"`) || !strings.Contains(body, "de at "+wiki2.APIURL) || strings.Contains(body, "en at ") {
		t.Errorf("healthz with de frozen = %d %s", resp.StatusCode, body)
	}
	alive := fmt.Sprintf("Farm alive %s", stamp)
	if r := slackProtect(3, "T1", "C-EN", `"`+alive+`" create=sysop`); !strings.Contains(r, "[en] Protection of "+alive) {
		t.Errorf("Slack on en with de frozen: %s", r)
	}
	wiki2.Thaw()
	thawed = true
	clock.Add(healthEvery)
	if resp, body := get(t, base+"/healthz"); resp.StatusCode != http.StatusOK || strings.Contains(body, "degraded") {
		t.Errorf("healthz after de resumed = %d %s", resp.StatusCode, body)
	}

	stop()
	recs, err := app.db.Audit(context.Background(), storage.AuditFilter{Wiki: "de", Limit: 20})
	if err != nil || len(recs) != 2 {
		t.Errorf("de's audit = %+v, %v", recs, err)
	}
	if v := app.metrics.Value("wikimod_commands_total", "wiki", "en", "command", "protect", "outcome", "ok"); v != 3 {
		t.Errorf("en's protect count = %v", v)
	}
	var out bytes.Buffer
	if err := printAudit(&out, recs, true); err != nil || !strings.Contains(out.String(), `"wiki":"de"`) {
		t.Errorf("audit -json = %s %v", out.String(), err)
	}
}

// TestSingleWikiConfigUpgradesToFarm: a database that a single-[wiki]
// config filled keeps working, and when the same wiki moves to
// [wikis.en], what was "default" becomes en's.
func TestSingleWikiConfigUpgradesToFarm(t *testing.T) {
	path := writeConfig(t, "")
	cfg, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	app, err := NewApp(cfg, AppOptions{})
	if err != nil {
		t.Fatal(err)
	}
	title := testwait.Unique("Upgrade Page ")
	admin := commands.Actor{Platform: "console", UserID: "admin", Channel: "console"}
	if r := app.service.ExecuteLine(context.Background(), admin, `/protect "`+title+`" create=sysop expiry="3 days"`); !r.OK() {
		t.Fatal(r.String())
	}
	app.Close()

	farm := fmt.Sprintf(`[wikis.en]
api_url = %q
bot_user = %q
bot_password = %q

[storage]
path = %q

[[access]]
wiki_groups = ["sysop"]
console_users = ["admin"]
`, wiki.APIURL, wiki.BotUser, wiki.BotPassword, cfg.Storage.Path)
	cfg2, err := ParseConfig(farm, "farm")
	if err != nil {
		t.Fatal(err)
	}
	app2, err := NewApp(cfg2, AppOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer app2.Close()
	recs, err := app2.db.Audit(context.Background(), storage.AuditFilter{Wiki: "en"})
	if err != nil || len(recs) != 1 || recs[0].Command != "protect" {
		t.Errorf("the old audit row under en = %+v, %v", recs, err)
	}
	if r := app2.service.ExecuteLine(context.Background(), admin, "/expiring"); !strings.Contains(r.String(), title) {
		t.Errorf("the old reminder under en: %s", r.String())
	}
}

// TestConsoleWikiFlag: wikimod console -wiki NAME sends commands that name
// no wiki there.
func TestConsoleWikiFlag(t *testing.T) {
	dir := t.TempDir()
	path := writeIn(t, dir, "wikimod.toml", farmWikis(t)+fmt.Sprintf(`
[storage]
path = %q

[[access]]
wiki_groups = ["sysop"]
console_users = ["admin"]
`, filepath.Join(dir, "wikimod.db")))
	title := testwait.Unique("Console Farm ")
	var out, errOut bytes.Buffer
	in := strings.NewReader(`/protect "` + title + `" create=sysop` + "\n")
	if code := Main([]string{"console", "-config", path, "-as", "admin", "-wiki", "de"}, in, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	if !strings.Contains(out.String(), "[de] Protection of "+title) {
		t.Errorf("output = %s", out.String())
	}
	if code := Main([]string{"console", "-config", path, "-as", "admin", "-wiki", "fr"}, strings.NewReader(""), &out, &errOut); code == 0 || !strings.Contains(errOut.String(), `-wiki "fr": no such wiki (wikis: de, en)`) {
		t.Errorf("-wiki fr: exit %d, %s", code, errOut.String())
	}
}

// TestCheckEveryWiki: wikimod check logs in to each wiki of a farm and
// says which one lacks what.
func TestCheckEveryWiki(t *testing.T) {
	devwiki.Need(t, wiki2)
	user, pass, err := wiki2.CreateBotPassword(context.Background(), "Admin", testwait.Unique("weak"), "basic")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	// de's bot password can log in and do nothing else.
	text := strings.Replace(farmWikis(t), fmt.Sprintf("api_url = %q\nbot_user = %q\nbot_password = %q\n", wiki2.APIURL, wiki2.BotUser, wiki2.BotPassword),
		fmt.Sprintf("api_url = %q\nbot_user = %q\nbot_password = %q\n", wiki2.APIURL, user, pass), 1)
	path := writeIn(t, dir, "wikimod.toml", text+fmt.Sprintf("\n[storage]\npath = %q\n", filepath.Join(dir, "wikimod.db")))
	var out, errOut bytes.Buffer
	code := Main([]string{"check", "-config", path}, nil, &out, &errOut)
	if code == 0 || !strings.Contains(out.String(), "== wiki de") || !strings.Contains(out.String(), "== wiki en") ||
		!strings.Contains(out.String(), "PROBLEM on de") || strings.Contains(out.String(), "PROBLEM on en") ||
		!strings.Contains(errOut.String(), "1 of 2 wikis lack something: de:") {
		t.Errorf("check: exit %d\n%s\n%s", code, out.String(), errOut.String())
	}
	if strings.Contains(out.String()+errOut.String(), pass) {
		t.Error("check printed a bot password")
	}
}
