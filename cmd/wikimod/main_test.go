package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wikimod/wikimod/commands"
	"github.com/wikimod/wikimod/internal/devwiki"
	"github.com/wikimod/wikimod/internal/testwait"
	"github.com/wikimod/wikimod/mw"
)

// wiki is the test wiki; wiki2 a second one, for the tests of a farm.
var wiki, wiki2 *devwiki.Wiki

func TestMain(m *testing.M) {
	code := devwiki.Main(m, &wiki, &wiki2)
	if pg != nil {
		pg.Close()
	}
	os.Exit(code)
}

// writeConfig writes a config for the test wiki and returns its path.
func writeConfig(t testing.TB, extra string) string {
	t.Helper()
	return writeConfigFor(t, devwiki.Need(t, wiki), extra)
}

// writeConfigFor writes a config for w and returns its path.
func writeConfigFor(t testing.TB, w *devwiki.Wiki, extra string) string {
	t.Helper()
	dir := t.TempDir()
	text := fmt.Sprintf(`[wiki]
api_url = %q
bot_user = %q
bot_password = %q
contact = "ops@example.test"

[storage]
path = %q

[http]
listen = %q

# The tests send bursts of hundreds of commands as one person; the limit
# per person has tests of its own.
[commands]
user_rate = -1

[[access]]
wiki_groups = ["sysop"]
console_users = ["admin"]
%s`, w.APIURL, w.BotUser, w.BotPassword, filepath.Join(dir, "wikimod.db"), freeAddr(t), extra)
	path := filepath.Join(dir, "wikimod.toml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func TestConfigErrorsNameTheProblem(t *testing.T) {
	t.Setenv("WIKIMOD_BOT_PASSWORD", "")
	base := `[wiki]
api_url = "http://127.0.0.1:1/api.php"
bot_user = "Admin@wikimod"
bot_password = "x"
`
	cases := []struct{ text, want string }{
		{base + "colour = \"blue\"\n", "unknown key wiki.colour"},
		{base + "[slack]\nsigning_secrett = \"x\"\n", "unknown key slack.signing_secrett"},
		{base + "[[access]]\nwiki_groups = [\"sysop\"]\ndiscord_role = [\"1\"]\n", "unknown key access.discord_role"},
		{base + "[[access]]\nwiki_groups = [\"sysop\"]\nslack_users = \"U1\"\n", "access rule 1"},
		{strings.Replace(base, `bot_password = "x"`, "", 1), "WIKIMOD_BOT_PASSWORD"},
		{strings.Replace(base, "Admin@wikimod", "Admin", 1), "User@AppId"},
		{strings.Replace(base, "http://", "", 1), "http://"},
		{base + "[discord]\nmode = \"webhook\"\n", `discord.mode "webhook"`},
		{base + "[reminders]\nlead_times = [\"1 day\"]\n", "not a duration"},
		{base + "[http]\nlisten = \"8080\"\n", "http.listen"},
		{base + "[slack]\nmode = \"http\"\nbot_token = \"xoxb-1\"\n", "WIKIMOD_SLACK_SIGNING_SECRET"},
		{base + "[slack]\nmode = \"socket\"\nbot_token = \"xoxb-1\"\n", "app-level token"},
		{base + "[discord]\nmode = \"http\"\napplication_id = \"1\"\nguild_ids = [\"2\"]\n", "discord.public_key"},
		{base + "[discord]\nmode = \"gateway\"\napplication_id = \"1\"\n", "discord.guild_ids"},
	}
	for _, tc := range cases {
		_, err := ParseConfig(tc.text, "test.toml")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("config error = %v, want it to mention %q", err, tc.want)
		}
	}
}

// TestAccessKeysAreReadByTheirPlatforms: an existing [[access]] rule's keys,
// each owned by its platform's adapter package, still make the same rules.
func TestAccessKeysAreReadByTheirPlatforms(t *testing.T) {
	t.Setenv("WIKIMOD_BOT_PASSWORD", "x")
	cfg, err := ParseConfig(`[wiki]
api_url = "https://wiki.example.org/w/api.php"
bot_user = "Admin@wikimod"

[[access]]
wiki_groups = ["sysop"]
console_users = ["alice"]
discord_users = ["111"]
discord_roles = ["222", "333"]
slack_users = ["U1"]
slack_usergroups = ["S1"]

[[access]]
wiki_groups = ["autoconfirmed"]
slack_users = ["U2"]
`, "t")
	if err != nil {
		t.Fatal(err)
	}
	got := cfg.accessRules()
	want := []commands.AccessRule{
		{WikiGroups: []string{"sysop"}, Identities: []commands.Identities{
			commands.Users("console", "alice"),
			{Platform: "discord", Users: []string{"111"}, Groups: []string{"222", "333"}},
			{Platform: "slack", Users: []string{"U1"}, Groups: []string{"S1"}},
		}},
		{WikiGroups: []string{"autoconfirmed"}, Identities: []commands.Identities{{Platform: "slack", Users: []string{"U2"}}}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("rules = %+v\nwant %+v", got, want)
	}
	if !usesSlackUserGroups(cfg) {
		t.Error("a rule names Slack user groups, but usesSlackUserGroups says none does")
	}
}

func TestSecretsFromEnvironment(t *testing.T) {
	t.Setenv("WIKIMOD_BOT_PASSWORD", "from-env-1")
	t.Setenv("WIKIMOD_SLACK_SIGNING_SECRET", "from-env-2")
	cfg, err := ParseConfig(`[wiki]
api_url = "https://wiki.example.org/w/api.php"
bot_user = "Admin@wikimod"
bot_password = "from-file"
`, "t")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Wiki.BotPassword != "from-env-1" || cfg.Slack.SigningSecret != "from-env-2" {
		t.Errorf("environment did not override: %q %q", cfg.Wiki.BotPassword, cfg.Slack.SigningSecret)
	}
	if cfg.HTTP.Listen != "127.0.0.1:8080" || cfg.Storage.Path != "wikimod.db" || len(cfg.Reminders.LeadTimes) != 2 {
		t.Errorf("defaults not applied: %+v", cfg)
	}
}

func TestExampleConfigParses(t *testing.T) {
	t.Setenv("WIKIMOD_BOT_PASSWORD", "example")
	if _, err := LoadConfig("../../config.example.toml"); err != nil {
		t.Fatal(err)
	}
}

func TestConsoleAndAudit(t *testing.T) {
	path := writeConfig(t, "")
	in := strings.NewReader(`/protect "Cli Page" create=sysop expiry="1 week" reason="cli test"
# a comment is skipped

/validatepassword password="Cli-secret-pass-77" user="Cli Newcomer"
/protect "Cli Page" create=nonsense
`)
	var out, errOut bytes.Buffer
	if code := Main([]string{"console", "-config", path, "-as", "admin"}, in, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	got := out.String()
	for _, want := range []string{"Protection of Cli Page changed.", "Create (create): Allow only administrators (sysop), until 20", "accepts this password", "not a protection level"} {
		if !strings.Contains(got, want) {
			t.Errorf("console output lacks %q:\n%s", want, got)
		}
	}
	c, _ := mw.New(mw.Config{APIURL: wiki.APIURL})
	ps, err := c.PageProtections(context.Background(), "Cli Page")
	if err != nil || len(ps) != 1 || ps[0].Level != "sysop" {
		t.Errorf("wiki protections = %+v, %v", ps, err)
	}

	out.Reset()
	if code := Main([]string{"audit", "-config", path, "-json", "-n", "10"}, nil, &out, &errOut); code != 0 {
		t.Fatalf("audit exit %d: %s", code, errOut.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("audit printed %d lines:\n%s", len(lines), out.String())
	}
	var recs []map[string]any
	for _, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("audit line %q: %v", l, err)
		}
		for _, k := range []string{"time", "platform", "user", "command", "outcome"} {
			if _, ok := m[k]; !ok {
				t.Errorf("audit line lacks %q: %s", k, l)
			}
		}
		recs = append(recs, m)
	}
	if recs[0]["outcome"] != "invalid" || recs[2]["outcome"] != "ok" || recs[2]["command"] != "protect" || recs[2]["user"] != "admin" {
		t.Errorf("audit, newest first = %v", recs)
	}
	if strings.Contains(out.String(), "Cli-secret-pass-77") || strings.Contains(errOut.String(), "Cli-secret-pass-77") {
		t.Error("audit output or log contains the password")
	}
	out.Reset()
	if code := Main([]string{"audit", "-config", path, "-n", "1"}, nil, &out, &errOut); code != 0 || !strings.Contains(out.String(), "/protect") {
		t.Errorf("text audit: exit %d, %q", code, out.String())
	}
}

func TestConsoleNeedsUser(t *testing.T) {
	path := writeConfig(t, "")
	var out, errOut bytes.Buffer
	if code := Main([]string{"console", "-config", path}, strings.NewReader(""), &out, &errOut); code == 0 || !strings.Contains(errOut.String(), "-as NAME") {
		t.Errorf("exit %d, stderr %q", code, errOut.String())
	}
}

func TestCheckReportsRights(t *testing.T) {
	path := writeConfig(t, "")
	var out, errOut bytes.Buffer
	if code := Main([]string{"check", "-config", path}, nil, &out, &errOut); code != 0 {
		t.Fatalf("check exit %d: %s\n%s", code, out.String(), errOut.String())
	}
	for _, want := range []string{"TestWiki (MediaWiki " + wiki.Version(), "logged in as Admin", "/protect", "ok", "all good",
		"mail:    ok: the bot holds sendemail and its account Admin has an email address"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("check output lacks %q:\n%s", want, out.String())
		}
	}

	// A bot password without the protect grant.
	user, pass, err := wiki.CreateBotPassword(context.Background(), "Admin", testwait.Unique("weak"), "basic")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Wiki.BotUser, cfg.Wiki.BotPassword = user, pass
	app, err := NewApp(cfg, AppOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	out.Reset()
	err = app.Check(context.Background(), &out)
	if err == nil || !strings.Contains(out.String(), "MISSING: add the grant protect") || !strings.Contains(out.String(), "createaccount") ||
		!strings.Contains(out.String(), "/link by mail cannot work: the bot lacks the right sendemail") {
		t.Errorf("check with a weak bot password: %v\n%s", err, out.String())
	}
	if strings.Contains(out.String(), pass) {
		t.Error("check printed the bot password")
	}
}

func TestRunServesHealthAndMetrics(t *testing.T) {
	path := writeConfig(t, "")
	cfg, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	app, base, stop := startApp(t, cfg, AppOptions{LogOutput: &logs})
	ctx := context.Background()

	resp, body := get(t, base+"/healthz")
	if resp.StatusCode != 200 || !strings.Contains(body, `"status":"ok"`) || !strings.Contains(body, `"database":"ok"`) {
		t.Errorf("healthz = %d %s", resp.StatusCode, body)
	}
	app.service.ExecuteLine(ctx, consoleActor("admin"), `/protect "Run Page" create=sysop expiry="1 day"`)
	_, metrics := get(t, base+"/metrics")
	for _, want := range []string{
		`wikimod_commands_total{command="protect",outcome="ok",wiki="default"} 1`,
		`wikimod_wiki_requests_total{action="protect",wiki="default"} 1`,
		`wikimod_wiki_request_duration_seconds_bucket{action="protect",wiki="default",le="+Inf"} 1`,
		"# TYPE wikimod_command_duration_seconds histogram",
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	stop()
	if strings.Contains(logs.String(), wiki.BotPassword) {
		t.Error("the log contains the bot password")
	}
}

func TestHealthFailsWhenWikiIsDown(t *testing.T) {
	path := writeConfig(t, "")
	cfg, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Wiki.APIURL = "http://" + freeAddr(t) + "/api.php"
	_, base, _ := startApp(t, cfg, AppOptions{})
	resp, body := get(t, base+"/healthz")
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, `"wiki":"the wiki at `+cfg.Wiki.APIURL+` does not answer`) {
		t.Errorf("healthz = %d %s", resp.StatusCode, body)
	}
}

func TestRunRefusesWrongBotPassword(t *testing.T) {
	path := writeConfig(t, "")
	cfg, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Wiki.BotPassword = "wrong-password-for-the-bot-00"
	app, err := NewApp(cfg, AppOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	err = app.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "login") || strings.Contains(err.Error(), cfg.Wiki.BotPassword) {
		t.Errorf("Run with a wrong bot password: %v", err)
	}
}

// startApp builds an App from cfg and runs it as `wikimod run` does, and
// returns it with its HTTP server's base URL once /healthz answers. stop
// ends Run and checks it returned cleanly; it also runs when the test ends,
// and the App is closed after it.
func startApp(t *testing.T, cfg *Config, opts AppOptions) (app *App, base string, stop func()) {
	t.Helper()
	app, err := NewApp(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { app.Close() }) // after stop: cleanups run last-in first-out
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- app.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run returned %v", err)
				}
			case <-time.After(15 * time.Second):
				t.Error("Run did not stop")
			}
		})
	}
	t.Cleanup(stop)
	base = "http://" + cfg.HTTP.Listen
	waitHTTP(t, base+"/healthz")
	return app, base, stop
}

func waitHTTP(t testing.TB, url string) {
	t.Helper()
	testwait.For(t, url+" to answer", func() bool {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	})
}

func get(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func consoleActor(name string) commands.Actor {
	return commands.Actor{Platform: "console", UserID: name, UserName: name}
}
