package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wikimod/wikimod/bot/discord/discordtest"
	"github.com/wikimod/wikimod/internal/testwait"
	"github.com/wikimod/wikimod/storage"
)

// discordConfig writes a config with [discord] pointed at the stand-in, and
// the Discord user D-ADMIN mapped to sysop.
func discordConfig(t *testing.T, api *discordtest.Server, signer *discordtest.Signer) string {
	t.Helper()
	t.Setenv("WIKIMOD_DISCORD_BOT_TOKEN", "")
	return writeConfig(t, fmt.Sprintf(`discord_users = ["D-ADMIN"]

[discord]
mode = "http"
application_id = "APP7"
public_key = %q
bot_token = "cmd-bot-token"
guild_ids = ["G1", "G2"]
api_url = %q
`, signer.PublicKeyHex(), api.URL))
}

func TestDiscordRegister(t *testing.T) {
	api := discordtest.NewServer(t)
	path := discordConfig(t, api, discordtest.NewSigner())

	var out, errOut bytes.Buffer
	if code := Main([]string{"discord", "register", "-config", path}, nil, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	reqs := api.Requests()
	if len(reqs) != 2 || reqs[0].Path != "/api/v9/applications/APP7/guilds/G1/commands" || reqs[1].Path != "/api/v9/applications/APP7/guilds/G2/commands" {
		t.Fatalf("requests = %+v", reqs)
	}
	var cmds []struct {
		Name    string `json:"name"`
		Options []struct {
			Name    string `json:"name"`
			Choices []struct {
				Value string `json:"value"`
			} `json:"choices"`
		} `json:"options"`
	}
	reqs[0].JSON(t, &cmds)
	names := map[string]bool{}
	for _, c := range cmds {
		names[c.Name] = true
		if c.Name != "protect" {
			continue
		}
		edit := false
		for _, o := range c.Options {
			if o.Name == "edit" {
				edit = len(o.Choices) == 3
			}
		}
		if !edit {
			t.Errorf("/protect options = %+v, want edit with the wiki's 3 levels as choices", c.Options)
		}
	}
	for _, n := range []string{"protect", "validatepassword", "resetpassword", "createaccount"} {
		if !names[n] {
			t.Errorf("/%s was not registered", n)
		}
	}
	if !strings.Contains(out.String(), "in server G1: /protect /validatepassword") {
		t.Errorf("output = %s", out.String())
	}

	// -guild picks one server; running again is a bulk overwrite again.
	out.Reset()
	if code := Main([]string{"discord", "register", "-config", path, "-guild", "G9"}, nil, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	reqs = api.Requests()
	if len(reqs) != 3 || reqs[2].Method != http.MethodPut || reqs[2].Path != "/api/v9/applications/APP7/guilds/G9/commands" {
		t.Errorf("requests = %+v", reqs)
	}

	// -print registers nothing.
	out.Reset()
	if code := Main([]string{"discord", "register", "-config", path, "-print"}, nil, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	if len(api.Requests()) != 3 || !strings.Contains(out.String(), `"name": "protect"`) {
		t.Errorf("-print sent requests or printed %s", out.String())
	}
	if strings.Contains(errOut.String(), "cmd-bot-token") {
		t.Error("the bot token was printed")
	}
}

func TestRunServesDiscordInteractions(t *testing.T) {
	api := discordtest.NewServer(t)
	signer := discordtest.NewSigner()
	cfg, err := LoadConfig(discordConfig(t, api, signer))
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	app, base, stop := startApp(t, cfg, AppOptions{LogOutput: &logs})
	endpoint := base + "/discord/interactions"

	post := func(req *http.Request) (int, string) {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if status, body := post(signer.Request(endpoint, []byte(`{"id":"1","application_id":"APP7","type":1,"token":"t","version":1}`), time.Now())); status != 200 || body != `{"type":1}` {
		t.Errorf("PING answered %d %s", status, body)
	}

	page := testwait.Unique("Run Discord Page ")
	protect := []byte(`{"id":"77","application_id":"APP7","type":2,"token":"tok77","version":1,"guild_id":"G2","channel_id":"C5",
		"member":{"user":{"id":"D-ADMIN","username":"admin"},"roles":[]},
		"data":{"id":"c","name":"protect","type":1,"options":[{"name":"title","type":3,"value":"` + page + `"},{"name":"create","type":3,"value":"sysop"}]}}`)
	if status, _ := post(discordtest.NewSigner().Request(endpoint, protect, time.Now())); status != http.StatusUnauthorized {
		t.Errorf("forged signature answered %d, want 401", status)
	}
	if status, body := post(signer.Request(endpoint, protect, time.Now())); status != 200 || !strings.Contains(body, `"type":5`) {
		t.Errorf("/protect answered %d %s", status, body)
	}
	edit := api.WaitEdit(t, "APP7", "tok77")
	var e struct {
		Embeds []struct {
			Title string `json:"title"`
		} `json:"embeds"`
	}
	edit.JSON(t, &e)
	if len(e.Embeds) != 1 || e.Embeds[0].Title != "Protection of "+page+" changed." {
		t.Errorf("edit = %s", edit.Body)
	}

	stop()
	app.security.Flush(context.Background())
	evs, err := app.db.SecurityCounts(context.Background(), time.Time{}, 10)
	if err != nil || len(evs) != 1 || evs[0].Platform != "discord" || evs[0].Kind != "bad-signature" || evs[0].Source != "127.0.0.1" {
		t.Errorf("security events = %+v, %v", evs, err)
	}
	if got := app.metrics.Value("wikimod_security_events_total", "platform", "discord", "kind", "bad-signature"); got != 1 {
		t.Errorf("security event metric = %v", got)
	}
	var audit bytes.Buffer
	recs, _ := app.db.Audit(context.Background(), storage.AuditFilter{Limit: 10})
	json.NewEncoder(&audit).Encode(recs)
	if len(recs) != 1 || recs[0].UserID != "D-ADMIN" || recs[0].Channel != "C5" {
		t.Errorf("audit = %s", audit.String())
	}
	if strings.Contains(logs.String(), "cmd-bot-token") || strings.Contains(logs.String(), "tok77") {
		t.Error("the log contains a token")
	}
}
