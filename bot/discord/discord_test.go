package discord_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/wikimod/wikimod/bot/discord"
	"github.com/wikimod/wikimod/bot/discord/discordtest"
	"github.com/wikimod/wikimod/commands"
	"github.com/wikimod/wikimod/i18n"
	"github.com/wikimod/wikimod/internal/devwiki"
	"github.com/wikimod/wikimod/internal/testenv"
	"github.com/wikimod/wikimod/internal/testwait"
	"github.com/wikimod/wikimod/mw"
	"github.com/wikimod/wikimod/storage"
)

// wiki is the test wiki; wiki2 a second one, for the tests of a farm.
var wiki, wiki2 *devwiki.Wiki

func TestMain(m *testing.M) { os.Exit(devwiki.Main(m, &wiki, &wiki2)) }

// noLeak fails t if secret was sent to Discord or written to the log.
func (f *fixture) noLeak(t *testing.T, secret string) {
	t.Helper()
	for _, r := range f.api.Requests() {
		if bytes.Contains(r.Body, []byte(secret)) {
			t.Errorf("the password was sent to Discord in %s %s", r.Method, r.Path)
		}
	}
	if strings.Contains(f.logs.String(), secret) {
		t.Error("the password is in the log")
	}
}

const (
	appID   = "APP1"
	guildID = "G1"
	notices = "N1"
)

type securityEvent struct{ kind, remote, detail string }

// fixture is a real core on the test wiki, the adapter's real handler on a
// local server, and a stand-in for Discord's API.
type fixture struct {
	env     *testenv.Env
	metrics *discord.Metrics // on env.Metrics; replicas share them
	api     *discordtest.Server
	signer  *discordtest.Signer
	adapter *discord.Adapter
	srv     *httptest.Server
	clock   *testenv.Clock

	logs *testenv.LogBuffer // the adapter's log

	mu     sync.Mutex
	events []securityEvent
}

func newFixture(t testing.TB, mode string, adjust ...func(*discord.Config)) *fixture {
	t.Helper()
	return newFixtureWith(t, testenv.Options{}, mode, adjust...)
}

// newFixtureEnv is an HTTP-mode fixture whose core has the given options.
func newFixtureEnv(t testing.TB, opts testenv.Options) *fixture {
	t.Helper()
	return newFixtureWith(t, opts, discord.ModeHTTP)
}

func newFixtureWith(t testing.TB, opts testenv.Options, mode string, adjust ...func(*discord.Config)) *fixture {
	t.Helper()
	f := &fixture{
		env:    testenv.New(t, wiki, opts),
		api:    discordtest.NewServer(t),
		signer: discordtest.NewSigner(),
		clock:  testenv.NewClock(time.Now()),
		logs:   &testenv.LogBuffer{},
	}
	f.metrics = discord.NewMetrics(f.env.Metrics.Registerer())
	cfg := discord.Config{
		Mode:          mode,
		ApplicationID: appID,
		PublicKey:     f.signer.PublicKeyHex(),
		BotToken:      "test-bot-token",
		GuildIDs:      []string{guildID},
		NoticeChannel: notices,
		APIURL:        f.api.URL,
		Service:       f.env.Service,
		Replays:       f.env.DB,
		Forms:         f.env.DB,
		Metrics:       f.metrics,
		Now:           f.clock.Now,
		Logger:        slog.New(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		OnSecurityEvent: func(_ context.Context, kind, remote, detail string) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.events = append(f.events, securityEvent{kind, remote, detail})
		},
	}
	for _, fn := range adjust {
		fn(&cfg)
	}
	a, err := discord.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.adapter = a
	mux := http.NewServeMux()
	a.Mount(mux)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(func() {
		f.srv.Close()
		a.Close()
	})
	return f
}

// replica is a second adapter on the same core, database and Discord
// stand-in, behind a server of its own: another wikimod process.
func (f *fixture) replica(t testing.TB) *fixture {
	t.Helper()
	r := &fixture{env: f.env, metrics: f.metrics, api: f.api, signer: f.signer, clock: f.clock, logs: f.logs}
	a, err := discord.New(discord.Config{
		Mode: discord.ModeHTTP, ApplicationID: appID, PublicKey: f.signer.PublicKeyHex(), BotToken: "test-bot-token",
		GuildIDs: []string{guildID}, NoticeChannel: notices, APIURL: f.api.URL, Service: f.env.Service,
		Replays: f.env.DB, Forms: f.env.DB, Metrics: f.metrics, Now: f.clock.Now,
		Logger: slog.New(slog.NewTextHandler(f.logs, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	a.Mount(mux)
	r.adapter, r.srv = a, httptest.NewServer(mux)
	t.Cleanup(func() {
		r.srv.Close()
		a.Close()
	})
	return r
}

func (f *fixture) securityEvents() []securityEvent {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]securityEvent(nil), f.events...)
}

// post sends a signed interaction and returns the status and decoded body.
func (f *fixture) post(t testing.TB, body []byte) (int, map[string]any) {
	t.Helper()
	return f.do(t, f.signer.Request(f.srv.URL+discord.InteractionsPath, body, f.clock.Now()))
}

func (f *fixture) do(t testing.TB, req *http.Request) (int, map[string]any) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatalf("response is not JSON: %v: %s", err, b)
		}
	}
	return resp.StatusCode, out
}

// auditCount is the number of records in the audit log.
func (f *fixture) auditCount(t testing.TB) int {
	t.Helper()
	recs, err := f.env.DB.Audit(context.Background(), storage.AuditFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return len(recs)
}

// Interactions as Discord sends them.

type ix = map[string]any

var seq struct {
	sync.Mutex
	n int
}

func nextID() string {
	seq.Lock()
	defer seq.Unlock()
	seq.n++
	return fmt.Sprintf("9%07d", seq.n)
}

func member(userID string, roles ...string) ix {
	if roles == nil {
		roles = []string{}
	}
	return ix{"user": ix{"id": userID, "username": strings.ToLower(userID)}, "roles": roles, "nick": nil}
}

func opt(name string, value any) ix {
	typ := discordgo.ApplicationCommandOptionString
	if _, ok := value.(bool); ok {
		typ = discordgo.ApplicationCommandOptionBoolean
	}
	return ix{"name": name, "type": typ, "value": value}
}

// interaction builds an interaction of type typ with data, from m in guild.
func interaction(typ discordgo.InteractionType, guild string, m ix, data ix) (id, token string, body []byte) {
	id = nextID()
	token = "itok-" + id
	i := ix{"id": id, "application_id": appID, "type": typ, "token": token, "version": 1, "channel_id": "C1", "data": data}
	if guild != "" {
		i["guild_id"] = guild
		i["member"] = m
	} else {
		i["user"] = m["user"]
	}
	b, err := json.Marshal(i)
	if err != nil {
		panic(err)
	}
	return id, token, b
}

func slash(m ix, name string, opts ...ix) (id, token string, body []byte) {
	if opts == nil {
		opts = []ix{}
	}
	return interaction(discordgo.InteractionApplicationCommand, guildID, m, ix{"id": "C-" + name, "name": name, "type": 1, "options": opts})
}

func modalSubmit(m ix, customID, field, value string) (id, token string, body []byte) {
	return interaction(discordgo.InteractionModalSubmit, guildID, m, ix{"custom_id": customID, "components": []ix{
		{"type": 1, "components": []ix{{"type": 4, "custom_id": field, "value": value}}},
	}})
}

func press(m ix, customID string) (id, token string, body []byte) {
	return interaction(discordgo.InteractionMessageComponent, guildID, m, ix{"custom_id": customID, "component_type": 2})
}

// deferred asserts the response is a deferred ephemeral message.
func deferred(t testing.TB, status int, resp map[string]any) {
	t.Helper()
	if status != http.StatusOK {
		t.Fatalf("status %d, want 200", status)
	}
	data, _ := resp["data"].(map[string]any)
	if resp["type"] != float64(discordgo.InteractionResponseDeferredChannelMessageWithSource) || data["flags"] != float64(discordgo.MessageFlagsEphemeral) {
		t.Fatalf("response = %v, want a deferred ephemeral response (type 5, flags 64)", resp)
	}
}

// edit is the embed a PATCH of the original response carried.
type edit struct {
	Embeds []discordgo.MessageEmbed `json:"embeds"`
}

func (f *fixture) waitEdit(t testing.TB, token string) discordgo.MessageEmbed {
	t.Helper()
	req := f.api.WaitEdit(t, appID, token)
	var e edit
	req.JSON(t, &e)
	if len(e.Embeds) != 1 {
		t.Fatalf("edit has %d embeds, want 1: %s", len(e.Embeds), req.Body)
	}
	return e.Embeds[0]
}

func fieldMap(e discordgo.MessageEmbed) map[string]string {
	out := map[string]string{}
	for _, f := range e.Fields {
		out[f.Name] = f.Value
	}
	return out
}

func TestPingGetsPong(t *testing.T) {
	f := newFixture(t, discord.ModeHTTP)
	_, _, body := interaction(discordgo.InteractionPing, "", ix{}, nil)
	status, resp := f.post(t, body)
	if status != http.StatusOK || resp["type"] != float64(discordgo.InteractionResponsePong) {
		t.Fatalf("PING answered %d %v, want 200 and type 1", status, resp)
	}
}

func TestBadSignaturesAreRefusedAndRunNothing(t *testing.T) {
	f := newFixture(t, discord.ModeHTTP)
	other := discordtest.NewSigner()
	url := f.srv.URL + discord.InteractionsPath

	cases := []struct {
		name string
		kind string
		req  func() *http.Request
	}{
		{"forged signature", "bad-signature", func() *http.Request {
			_, _, body := slash(member("D-ADMIN"), "protect", opt("title", "Forged Page"), opt("edit", "sysop"))
			return other.Request(url, body, f.clock.Now())
		}},
		{"body altered after signing", "bad-signature", func() *http.Request {
			_, _, body := slash(member("D-ADMIN"), "protect", opt("title", "Altered Page"), opt("edit", "autoconfirmed"))
			req := f.signer.Request(url, body, f.clock.Now())
			altered := bytes.Replace(body, []byte("autoconfirmed"), []byte("sysop"), 1)
			req.Body = io.NopCloser(bytes.NewReader(altered))
			req.ContentLength = int64(len(altered))
			return req
		}},
		{"missing signature header", "missing-signature", func() *http.Request {
			_, _, body := slash(member("D-ADMIN"), "protect", opt("title", "Unsigned Page"), opt("edit", "sysop"))
			req := f.signer.Request(url, body, f.clock.Now())
			req.Header.Del("X-Signature-Ed25519")
			return req
		}},
		{"missing timestamp header", "missing-signature", func() *http.Request {
			_, _, body := slash(member("D-ADMIN"), "protect", opt("title", "Unsigned Page"), opt("edit", "sysop"))
			req := f.signer.Request(url, body, f.clock.Now())
			req.Header.Del("X-Signature-Timestamp")
			return req
		}},
		{"signature of a different timestamp", "bad-signature", func() *http.Request {
			_, _, body := slash(member("D-ADMIN"), "protect", opt("title", "Retimed Page"), opt("edit", "sysop"))
			req := f.signer.Request(url, body, f.clock.Now())
			req.Header.Set("X-Signature-Timestamp", fmt.Sprint(f.clock.Now().Unix()+1))
			return req
		}},
		{"stale timestamp, validly signed", "stale-timestamp", func() *http.Request {
			_, _, body := slash(member("D-ADMIN"), "protect", opt("title", "Stale Page"), opt("edit", "sysop"))
			return f.signer.Request(url, body, f.clock.Now().Add(-10*time.Minute))
		}},
		{"PING with a bad signature", "bad-signature", func() *http.Request {
			_, _, body := interaction(discordgo.InteractionPing, "", ix{}, nil)
			return other.Request(url, body, f.clock.Now())
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := len(f.securityEvents())
			status, _ := f.do(t, tc.req())
			if status != http.StatusUnauthorized {
				t.Errorf("status %d, want 401", status)
			}
			evs := f.securityEvents()
			if len(evs) != before+1 || evs[len(evs)-1].kind != tc.kind {
				t.Errorf("security events %v, want one more of kind %q", evs[before:], tc.kind)
			}
		})
	}
	if n := f.auditCount(t); n != 0 {
		t.Errorf("the audit log has %d records; refused requests must run nothing", n)
	}
	if reqs := f.api.Requests(); len(reqs) != 0 {
		t.Errorf("Discord's API was called %d times; refused requests must do nothing", len(reqs))
	}
	for _, title := range []string{"Forged Page", "Altered Page", "Unsigned Page", "Retimed Page", "Stale Page"} {
		if ps := f.env.Protections(t, title); len(ps) != 0 {
			t.Errorf("%s got protected: %v", title, ps)
		}
	}
	if got := f.env.Metrics.Value("wikimod_commands_total", "command", "protect", "outcome", "ok"); got != 0 {
		t.Errorf("commands ran: %v", got)
	}
}

func TestReplayedInteractionIsRefused(t *testing.T) {
	f := newFixture(t, discord.ModeHTTP)
	_, token, body := slash(member("D-ADMIN"), "help")
	url := f.srv.URL + discord.InteractionsPath
	status, resp := f.do(t, f.signer.Request(url, body, f.clock.Now()))
	deferred(t, status, resp)
	f.waitEdit(t, token)
	status, _ = f.do(t, f.signer.Request(url, body, f.clock.Now()))
	if status != http.StatusUnauthorized {
		t.Fatalf("replay answered %d, want 401", status)
	}
	// The same captured request with the signature's hex in upper case:
	// it verifies (hex reads both cases), and the guard, which keys on the
	// interaction the signature covers, refuses it all the same.
	req := f.signer.Request(url, body, f.clock.Now())
	req.Header.Set("X-Signature-Ed25519", strings.ToUpper(req.Header.Get("X-Signature-Ed25519")))
	if status, _ = f.do(t, req); status != http.StatusUnauthorized {
		t.Fatalf("replay in upper-case hex answered %d, want 401", status)
	}
	if evs := f.securityEvents(); len(evs) != 2 || evs[0].kind != "replayed-interaction" || evs[1].kind != "replayed-interaction" {
		t.Errorf("security events = %v", evs)
	}
	if n := f.auditCount(t); n != 1 {
		t.Errorf("audit log has %d records, want 1 (the replay ran nothing)", n)
	}
}

func TestProtectDefersThenEditsWithTheResult(t *testing.T) {
	f := newFixture(t, discord.ModeHTTP)
	_, token, body := slash(member("D-ADMIN"), "protect",
		opt("title", "Main Page"), opt("edit", "sysop"), opt("move", "sysop"),
		opt("expiry", "1 week"), opt("reason", "spam wave"), opt("cascade", true))
	status, resp := f.post(t, body)
	deferred(t, status, resp)

	e := f.waitEdit(t, token)
	if e.Title != "Protection of Main Page changed." || e.Color != 0x57F287 {
		t.Errorf("embed title %q colour %#x", e.Title, e.Color)
	}
	// Each protection is named in the wiki's words, and its expiry is a
	// timestamp each reader's client shows in their own zone and language.
	fields := fieldMap(e)
	for _, typ := range []string{"Edit (edit)", "Move (move)"} {
		if !strings.HasPrefix(fields[typ], "Allow only administrators (sysop), until <t:") || !strings.Contains(fields[typ], ":R>") {
			t.Errorf("field %s = %q, want the level and the wiki's expiry as Discord timestamps (fields %q)", typ, fields[typ], fields)
		}
	}
	if !strings.Contains(e.Description, "Cascading") || !strings.Contains(e.Description, "spam wave") || !strings.Contains(e.URL, "Main_Page") {
		t.Errorf("embed description %q url %q", e.Description, e.URL)
	}
	ps := f.env.Protections(t, "Main Page")
	if ps["edit"].Level != "sysop" || ps["move"].Level != "sysop" || !ps["edit"].Cascade {
		t.Errorf("wiki protections = %+v", ps)
	}
	rec := f.env.LastAudit(t)
	if rec.Platform != "discord" || rec.UserID != "D-ADMIN" || rec.Channel != "C1" || rec.Outcome != commands.OutcomeOK || rec.Args["cascade"] != "true" || rec.Args["expiry"] != "1 week" {
		t.Errorf("audit record = %+v", rec)
	}

	// The result is announced in the notice channel, naming who did it
	// without pinging them.
	ann := f.api.Wait(t, "the announcement", func(r discordtest.Request) bool {
		return r.Method == http.MethodPost && r.Path == "/api/v9/channels/"+notices+"/messages"
	})
	var msg struct {
		Embeds          []discordgo.MessageEmbed `json:"embeds"`
		AllowedMentions *struct {
			Parse []string `json:"parse"`
		} `json:"allowed_mentions"`
	}
	ann.JSON(t, &msg)
	if len(msg.Embeds) != 1 || msg.Embeds[0].Title != e.Title || fieldMap(msg.Embeds[0])["By"] != "<@D-ADMIN>" {
		t.Errorf("announcement = %s", ann.Body)
	}
	if msg.AllowedMentions == nil || len(msg.AllowedMentions.Parse) != 0 {
		t.Errorf("announcement may ping: %s", ann.Body)
	}
	if got := ann.Header.Get("Authorization"); got != "Bot test-bot-token" {
		t.Errorf("announcement authorization = %q", got)
	}
}

func TestUsageErrorIsEphemeralAndNotAnnounced(t *testing.T) {
	f := newFixture(t, discord.ModeHTTP)
	_, token, body := slash(member("D-ADMIN"), "protect", opt("title", "Discord Bad Level"), opt("edit", "nonsense"))
	status, resp := f.post(t, body)
	deferred(t, status, resp)
	e := f.waitEdit(t, token)
	if e.Color != 0xFEE75C || !strings.Contains(e.Description, "not a protection level") {
		t.Errorf("embed = %+v", e)
	}
	f.adapter.Close() // waits for the command's work to end
	for _, r := range f.api.Requests() {
		if strings.HasPrefix(r.Path, "/api/v9/channels/") {
			t.Errorf("a failed command was announced: %s", r.Body)
		}
	}
}

func TestUnmappedUsersAndRolesAreDenied(t *testing.T) {
	f := newFixture(t, discord.ModeHTTP)
	cases := []struct {
		name   string
		member ix
		title  string
		allow  bool
	}{
		{"unmapped user, no roles", member("D-NOBODY"), "Discord Denied One", false},
		{"unmapped user, unmapped role", member("D-NOBODY", "R-OTHER"), "Discord Denied Two", false},
		{"unmapped user, mapped role", member("D-NOBODY", "R-OTHER", "R-MOD"), "Discord Role Allowed", true},
		{"helper lacks the sysop level", member("D-HELPER"), "Discord Denied Three", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, token, body := slash(tc.member, "protect", opt("title", tc.title), opt("create", "sysop"))
			status, resp := f.post(t, body)
			deferred(t, status, resp)
			e := f.waitEdit(t, token)
			ps := f.env.Protections(t, tc.title)
			if tc.allow {
				if e.Color != 0x57F287 || ps["create"].Level != "sysop" {
					t.Errorf("a member with a mapped role was not allowed: %+v %v", e, ps)
				}
				return
			}
			if e.Title != "Not allowed." || e.Color != 0xED4245 {
				t.Errorf("embed = %+v, want a denial", e)
			}
			if len(ps) != 0 {
				t.Errorf("the wiki changed: %v", ps)
			}
			if rec := f.env.LastAudit(t); rec.Outcome != commands.OutcomeDenied || rec.UserID != tc.member["user"].(ix)["id"] {
				t.Errorf("audit = %+v", rec)
			}
		})
	}
}

// TestDeniedBeforeThePasswordForm: someone who may not run a command is
// told so in the first response, instead of a form asking for a password.
func TestDeniedBeforeThePasswordForm(t *testing.T) {
	f := newFixture(t, discord.ModeHTTP)
	_, _, body := slash(member("D-NOBODY"), "createaccount", opt("username", "Discord Never Asked"), opt("email", "never@example.test"))
	status, resp := f.post(t, body)
	if status != 200 || resp["type"] != float64(discordgo.InteractionResponseChannelMessageWithSource) {
		t.Fatalf("first response = %d %v, want a message, not a modal", status, resp)
	}
	data, _ := resp["data"].(map[string]any)
	if content, _ := data["content"].(string); !strings.Contains(content, "Not allowed.") || data["flags"] != float64(discordgo.MessageFlagsEphemeral) {
		t.Errorf("response data = %v, want a private denial", data)
	}
	if rec := f.env.LastAudit(t); rec.Outcome != commands.OutcomeDenied || rec.Command != "createaccount" || rec.UserID != "D-NOBODY" {
		t.Errorf("audit = %+v", rec)
	}
}

func TestDirectMessagesAndOtherServersAreRefused(t *testing.T) {
	f := newFixture(t, discord.ModeHTTP)
	_, _, dm := interaction(discordgo.InteractionApplicationCommand, "", member("D-ADMIN"), ix{"name": "protect", "type": 1,
		"options": []ix{opt("title", "Discord DM Page"), opt("edit", "sysop")}})
	_, _, elsewhere := interaction(discordgo.InteractionApplicationCommand, "G-OTHER", member("D-ADMIN"), ix{"name": "protect", "type": 1,
		"options": []ix{opt("title", "Discord DM Page"), opt("edit", "sysop")}})
	// A served server, but no member: not "not served".
	_, _, memberless := interaction(discordgo.InteractionApplicationCommand, guildID, nil, ix{"name": "protect", "type": 1,
		"options": []ix{opt("title", "Discord DM Page"), opt("edit", "sysop")}})
	for _, tc := range []struct {
		body       []byte
		want, kind string
	}{
		{dm, "not in direct messages", "dm-command"},
		{elsewhere, "does not serve this server (id G-OTHER)", "unserved-guild"},
		{memberless, "without saying who gave it", "no-member"},
	} {
		status, resp := f.post(t, tc.body)
		data, _ := resp["data"].(map[string]any)
		if status != 200 || resp["type"] != float64(4) || data["flags"] != float64(64) || !strings.Contains(fmt.Sprint(data["content"]), tc.want) {
			t.Errorf("response %d %v, want an ephemeral message saying %q", status, resp, tc.want)
		}
		if evs := f.securityEvents(); len(evs) == 0 || evs[len(evs)-1].kind != tc.kind {
			t.Errorf("security events %v, want %s", evs, tc.kind)
		}
	}
	if n := f.auditCount(t); n != 0 {
		t.Errorf("audit log has %d records; refused commands run nothing", n)
	}
	if ps := f.env.Protections(t, "Discord DM Page"); len(ps) != 0 {
		t.Errorf("page got protected: %v", ps)
	}
}

// modal asserts resp is a modal asking for field, and returns its custom_id.
func modal(t testing.TB, status int, resp map[string]any, field string, required bool) string {
	t.Helper()
	if status != 200 || resp["type"] != float64(discordgo.InteractionResponseModal) {
		t.Fatalf("response %d %v, want a modal (type 9)", status, resp)
	}
	data := resp["data"].(map[string]any)
	id, _ := data["custom_id"].(string)
	if id == "" || len(id) > 100 {
		t.Fatalf("modal custom_id %q", id)
	}
	row := data["components"].([]any)[0].(map[string]any)
	input := row["components"].([]any)[0].(map[string]any)
	if input["type"] != float64(4) || input["custom_id"] != field || input["required"] != required {
		t.Fatalf("modal input = %v, want text input %q required=%v", input, field, required)
	}
	label := english(commands.SecretLabel(field))
	if !required {
		label += " (optional)"
	}
	if input["label"] != label || label == field {
		t.Errorf("modal input label %q, want %q", input["label"], label)
	}
	return id
}

func TestValidatePasswordAsksInAModal(t *testing.T) {
	f := newFixture(t, discord.ModeHTTP)
	const password = "Modal-secret-pass-4471"
	_, _, body := slash(member("D-HELPER"), "validatepassword", opt("user", "Discord Newcomer"))
	status, resp := f.post(t, body)
	formID := modal(t, status, resp, "password", true)
	if n := f.auditCount(t); n != 0 {
		t.Errorf("opening the modal ran something: %d audit records", n)
	}

	_, token, body := modalSubmit(member("D-HELPER"), formID, "password", password)
	status, resp = f.post(t, body)
	deferred(t, status, resp)
	e := f.waitEdit(t, token)
	if e.Title != "The wiki accepts this password for the new account Discord Newcomer." {
		t.Errorf("embed = %+v", e)
	}
	rec := f.env.LastAudit(t)
	if rec.Command != "validatepassword" || rec.Args["password"] != "[redacted]" || rec.Args["user"] != "Discord Newcomer" {
		t.Errorf("audit = %+v", rec)
	}
	f.noLeak(t, password)

	// A form is used once.
	_, _, body = modalSubmit(member("D-HELPER"), formID, "password", password)
	status, resp = f.post(t, body)
	if data, _ := resp["data"].(map[string]any); status != 200 || !strings.Contains(fmt.Sprint(data["content"]), "expired") {
		t.Errorf("second submission answered %d %v", status, resp)
	}
}

func TestCreateAccountThroughTheModal(t *testing.T) {
	f := newFixture(t, discord.ModeHTTP)
	const password = "Created-through-discord-913"
	name := testwait.Unique("Discord Made ")
	_, _, body := slash(member("D-ADMIN"), "createaccount", opt("username", name), opt("email", "made@example.test"), opt("reason", "asked on Discord"))
	status, resp := f.post(t, body)
	formID := modal(t, status, resp, "password", false)

	// Someone else cannot submit the form.
	_, _, body = modalSubmit(member("D-OTHER", "R-MOD"), formID, "password", "Not-theirs-pass-11")
	status, resp = f.post(t, body)
	if data, _ := resp["data"].(map[string]any); status != 200 || !strings.Contains(fmt.Sprint(data["content"]), "someone else") {
		t.Errorf("another user's submission answered %d %v", status, resp)
	}

	// That attempt did not use up the form: its owner submits it.
	_, token, body := modalSubmit(member("D-ADMIN"), formID, "password", password)
	status, resp = f.post(t, body)
	deferred(t, status, resp)
	e := f.waitEdit(t, token)
	if e.Title != "Account "+name+" created." || !strings.Contains(e.Description, "password given") {
		t.Errorf("embed = %+v", e)
	}
	groups, err := f.env.Bot.UserGroups(context.Background(), name)
	if err != nil || groups[name] == nil {
		t.Fatalf("the account does not exist on the wiki: %v %v", groups, err)
	}
	rec := f.env.LastAudit(t)
	if rec.Args["password"] != "[redacted]" || rec.Args["reason"] != "asked on Discord" || rec.Outcome != commands.OutcomeOK {
		t.Errorf("audit = %+v", rec)
	}
	f.noLeak(t, password)
}

// TestCreateAccountFormNeedsAPasswordWithoutEmail: with no email address
// to mail a temporary password to, /createaccount's form will not be sent
// without one, as on Slack.
func TestCreateAccountFormNeedsAPasswordWithoutEmail(t *testing.T) {
	f := newFixture(t, discord.ModeHTTP)
	_, _, body := slash(member("D-ADMIN"), "createaccount", opt("username", testwait.Unique("Discord Unmailed ")))
	status, resp := f.post(t, body)
	modal(t, status, resp, "password", true)
}

func TestCreateAccountWithoutPasswordMailsOne(t *testing.T) {
	f := newFixture(t, discord.ModeHTTP)
	name := testwait.Unique("Discord Mailed ")
	_, _, body := slash(member("D-ADMIN"), "createaccount", opt("username", name), opt("email", "mailed@example.test"))
	status, resp := f.post(t, body)
	formID := modal(t, status, resp, "password", false)
	_, token, body := modalSubmit(member("D-ADMIN"), formID, "password", "")
	status, resp = f.post(t, body)
	deferred(t, status, resp)
	e := f.waitEdit(t, token)
	if e.Title != "Account "+name+" created." || !strings.Contains(e.Description, "mailed a temporary password") {
		t.Errorf("embed = %+v", e)
	}
}

func TestFormsExpire(t *testing.T) {
	f := newFixture(t, discord.ModeHTTP)
	_, _, body := slash(member("D-ADMIN"), "validatepassword")
	status, resp := f.post(t, body)
	formID := modal(t, status, resp, "password", true)
	f.clock.Add(16 * time.Minute)
	_, _, body = modalSubmit(member("D-ADMIN"), formID, "password", "Late-pass-word-55")
	status, resp = f.post(t, body)
	if data, _ := resp["data"].(map[string]any); status != 200 || !strings.Contains(fmt.Sprint(data["content"]), "expired") {
		t.Errorf("late submission answered %d %v", status, resp)
	}
	if n := f.auditCount(t); n != 0 {
		t.Errorf("an expired form ran a command")
	}
}

func TestResetPassword(t *testing.T) {
	f := newFixture(t, discord.ModeHTTP)
	ctx := context.Background()
	if err := wiki.CreateUser(ctx, "Discord Forgetful", "Forgetful-pass-8812", "forgetful@example.test", false); err != nil {
		t.Fatal(err)
	}
	mail, _ := wiki.Mail()
	_, token, body := slash(member("D-ADMIN"), "resetpassword", opt("user", "Discord Forgetful"))
	status, resp := f.post(t, body)
	deferred(t, status, resp)
	e := f.waitEdit(t, token)
	if e.Title != "Password reset requested for user Discord Forgetful." {
		t.Errorf("embed = %+v", e)
	}
	if _, err := wiki.WaitMail(ctx, len(mail), "Discord Forgetful"); err != nil {
		t.Errorf("no reset mail: %v", err)
	}
}

func TestNotifyButtonRunsTheCommandAsThePresser(t *testing.T) {
	f := newFixture(t, discord.ModeHTTP)
	err := f.adapter.Notify(context.Background(), commands.Reply{
		Title: i18n.Raw("Protection of Some Page ends in 1 hour."),
		Actions: []commands.Action{
			{Label: i18n.Raw("Explain /protect"), Style: "primary", Command: "help", Args: map[string]string{"command": "protect"}},
			{Label: i18n.Raw("Dismiss"), Command: "help"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	req := f.api.Wait(t, "the notice", func(r discordtest.Request) bool {
		return r.Method == http.MethodPost && r.Path == "/api/v9/channels/"+notices+"/messages"
	})
	var msg struct {
		Embeds     []discordgo.MessageEmbed `json:"embeds"`
		Components []struct {
			Type       int `json:"type"`
			Components []struct {
				Type     int    `json:"type"`
				Label    string `json:"label"`
				Style    int    `json:"style"`
				CustomID string `json:"custom_id"`
			} `json:"components"`
		} `json:"components"`
	}
	req.JSON(t, &msg)
	if len(msg.Embeds) != 1 || msg.Embeds[0].Title != "Protection of Some Page ends in 1 hour." || len(msg.Components) != 1 || len(msg.Components[0].Components) != 2 {
		t.Fatalf("notice = %s", req.Body)
	}
	b := msg.Components[0].Components[0]
	if b.Type != 2 || b.Label != "Explain /protect" || b.Style != int(discordgo.PrimaryButton) || b.CustomID != "wm|help|command=protect" {
		t.Errorf("button = %+v", b)
	}

	_, token, body := press(member("D-HELPER"), b.CustomID)
	status, resp := f.post(t, body)
	deferred(t, status, resp)
	e := f.waitEdit(t, token)
	if !strings.HasPrefix(e.Title, "/protect TITLE") {
		t.Errorf("embed = %+v", e)
	}
	if rec := f.env.LastAudit(t); rec.UserID != "D-HELPER" || rec.Command != "help" || rec.Args["command"] != "protect" {
		t.Errorf("audit = %+v", rec)
	}

	long := strings.Repeat("x", 100)
	if err := f.adapter.Notify(context.Background(), commands.Reply{Title: i18n.Raw("t"), Actions: []commands.Action{{Label: i18n.Raw("L"), Command: "help", Args: map[string]string{"command": long}}}}); err == nil ||
		!strings.Contains(err.Error(), "custom_id") {
		t.Errorf("an action too long for a button: err = %v", err)
	}
}

func TestGatewayInteractionTakesTheSamePath(t *testing.T) {
	f := newFixture(t, discord.ModeGateway, func(c *discord.Config) { c.PublicKey = "" })
	id, token, body := slash(member("D-ADMIN"), "protect", opt("title", "Discord Gateway Page"), opt("create", "sysop"), opt("expiry", "1 day"))
	var ic discordgo.InteractionCreate
	if err := json.Unmarshal(body, &ic); err != nil {
		t.Fatal(err)
	}
	f.adapter.GatewayInteraction(&ic)

	cb := f.api.Wait(t, "the interaction callback", func(r discordtest.Request) bool {
		return r.Method == http.MethodPost && r.Path == "/api/v9/interactions/"+id+"/"+token+"/callback"
	})
	var resp map[string]any
	cb.JSON(t, &resp)
	deferred(t, http.StatusOK, resp)
	e := f.waitEdit(t, token)
	if e.Title != "Protection of Discord Gateway Page changed." || !strings.Contains(fieldMap(e)["Create (create)"], "(sysop), until") {
		t.Errorf("embed = %+v", e)
	}
	if ps := f.env.Protections(t, "Discord Gateway Page"); ps["create"].Level != "sysop" {
		t.Errorf("wiki protections = %v", ps)
	}

	// The gateway mode serves no HTTP endpoint.
	status, _ := f.post(t, body)
	if status != http.StatusNotFound && status != http.StatusMethodNotAllowed {
		t.Errorf("gateway mode answered the HTTP endpoint with %d", status)
	}
}

func TestRegisterSendsTheCommands(t *testing.T) {
	f := newFixture(t, discord.ModeHTTP)
	site, err := f.env.Bot.SiteInfo(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	cmds := discord.ApplicationCommands(f.env.Service.Specs(), site.Restrictions, f.env.Service.Wikis(), discord.Words{})
	got, err := discord.Register(context.Background(), discord.RegisterConfig{ApplicationID: appID, BotToken: "reg-token", GuildID: guildID, APIURL: f.api.URL}, cmds)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(cmds) {
		t.Errorf("Register returned %d commands, want %d", len(got), len(cmds))
	}
	reqs := f.api.Requests()
	if len(reqs) != 1 || reqs[0].Method != http.MethodPut || reqs[0].Path != "/api/v9/applications/"+appID+"/guilds/"+guildID+"/commands" {
		t.Fatalf("requests = %v", reqs)
	}
	if reqs[0].Header.Get("Authorization") != "Bot reg-token" {
		t.Errorf("authorization = %q", reqs[0].Header.Get("Authorization"))
	}
	var sent []struct {
		Name        string  `json:"name"`
		Description string  `json:"description"`
		Type        int     `json:"type"`
		Perms       *string `json:"default_member_permissions"`
		DM          *bool   `json:"dm_permission"`
		Options     []struct {
			Name     string `json:"name"`
			Type     int    `json:"type"`
			Required bool   `json:"required"`
			Choices  []struct {
				Name  string `json:"name"`
				Value string `json:"value"`
			} `json:"choices"`
		} `json:"options"`
	}
	reqs[0].JSON(t, &sent)
	byName := map[string]int{}
	for i, c := range sent {
		byName[c.Name] = i
		if c.Type != 1 || c.Description == "" || len(c.Description) > 100 || c.DM == nil || *c.DM {
			t.Errorf("command %s: type %d, description %q, dm %v", c.Name, c.Type, c.Description, c.DM)
		}
		for _, o := range c.Options {
			if strings.Contains(o.Name, "password") {
				t.Errorf("/%s has a %s option; passwords are asked in a modal", c.Name, o.Name)
			}
		}
	}
	for _, name := range []string{"protect", "validatepassword", "resetpassword", "createaccount"} {
		if _, ok := byName[name]; !ok {
			t.Errorf("/%s not registered", name)
		}
	}
	protect := sent[byName["protect"]]
	if protect.Perms == nil || *protect.Perms != "8192" {
		t.Errorf("/protect default_member_permissions = %v, want Manage Messages (8192)", protect.Perms)
	}
	if p := sent[byName["validatepassword"]].Perms; p != nil {
		t.Errorf("/validatepassword default_member_permissions = %v, want everyone", *p)
	}
	opts := map[string]int{}
	for i, o := range protect.Options {
		opts[o.Name] = i
	}
	// The title is not required: titles=, category= or prefix= may name
	// many pages instead.
	if protect.Options[0].Name != "title" || protect.Options[0].Required {
		t.Errorf("first /protect option = %+v, want the title, not required", protect.Options[0])
	}
	for _, name := range []string{"title", "titles", "category", "prefix", "edit", "move", "create", "upload", "expiry", "reason", "cascade"} {
		if _, ok := opts[name]; !ok {
			t.Errorf("/protect lacks the option %s", name)
		}
	}
	if _, ok := opts["pageid"]; ok {
		t.Errorf("/protect offers pageid, which cannot be used with its required title")
	}
	if o := protect.Options[opts["cascade"]]; o.Type != 5 {
		t.Errorf("cascade is type %d, want boolean (5)", o.Type)
	}
	var choices []string
	for _, c := range protect.Options[opts["edit"]].Choices {
		choices = append(choices, c.Value)
	}
	if strings.Join(choices, ",") != "autoconfirmed,sysop,all" {
		t.Errorf("edit choices = %v, want the wiki's levels and all", choices)
	}
	var reset, create []string
	for _, o := range sent[byName["resetpassword"]].Options {
		reset = append(reset, o.Name)
	}
	for _, o := range sent[byName["createaccount"]].Options {
		create = append(create, o.Name)
	}
	if strings.Join(reset, ",") != "user,email" || strings.Join(create, ",") != "username,email,realname,reason" {
		t.Errorf("resetpassword options %v, createaccount options %v", reset, create)
	}
}

func TestNewNamesMissingSettings(t *testing.T) {
	var svc discord.Service = stubService{}
	cases := []struct {
		cfg  discord.Config
		want string
	}{
		{discord.Config{Mode: "webhook", Service: svc}, `mode "webhook"`},
		{discord.Config{Mode: discord.ModeHTTP, ApplicationID: "A", GuildIDs: []string{"G"}, Service: svc}, "public_key is empty"},
		{discord.Config{Mode: discord.ModeHTTP, ApplicationID: "A", GuildIDs: []string{"G"}, PublicKey: "abcd", Service: svc}, "not a hex Ed25519"},
		{discord.Config{Mode: discord.ModeGateway, ApplicationID: "A", GuildIDs: []string{"G"}, Service: svc}, "bot token"},
		{discord.Config{Mode: discord.ModeGateway, BotToken: "t", GuildIDs: []string{"G"}, Service: svc}, "application_id"},
		{discord.Config{Mode: discord.ModeGateway, BotToken: "t", ApplicationID: "A", Service: svc}, "guild_ids is empty"},
		{discord.Config{Mode: discord.ModeGateway, BotToken: "t", ApplicationID: "A", GuildIDs: []string{"G"}, Service: svc, APIURL: "ftp://x"}, "api_url"},
	}
	for _, tc := range cases {
		_, err := discord.New(tc.cfg)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%+v) error = %v, want it to mention %q", tc.cfg, err, tc.want)
		}
	}
}

// stubService is a command service that never reaches a wiki; New only
// needs one to exist.
type stubService struct{}

func (stubService) Submit(context.Context, commands.Job) (commands.Reply, bool) {
	return commands.Reply{}, false
}
func (stubService) Spec(string) (commands.Spec, bool) { return commands.Spec{}, false }

func (stubService) Authorize(context.Context, commands.Actor, string, commands.Args) (commands.Reply, bool) {
	return commands.Reply{}, true
}

func (stubService) SuggestTitles(context.Context, commands.Actor, string, string, int) []string {
	return nil
}

func (stubService) Wikis() []string { return []string{commands.DefaultWiki} }

func TestRewriteTransportKeepsThePath(t *testing.T) {
	api := discordtest.NewServer(t)
	rt, err := discord.NewRewriteTransport(api.URL+"/proxy/", nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Transport: rt}
	resp, err := c.Get("https://discord.com/api/v9/gateway?v=9")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	// A request for another host is left alone.
	resp, err = c.Get(api.URL + "/api/v9/gateway")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	reqs := api.Requests()
	if len(reqs) != 2 || reqs[0].Path != "/proxy/api/v9/gateway" || reqs[1].Path != "/api/v9/gateway" {
		t.Errorf("requests = %+v", reqs)
	}
}

func TestGatewaySessionReceivesInteractions(t *testing.T) {
	f := newFixture(t, discord.ModeGateway, func(c *discord.Config) { c.PublicKey = "" })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- f.adapter.Run(ctx) }()

	identify := f.api.Wait(t, "the gateway Identify", func(r discordtest.Request) bool {
		return r.Method == discordtest.GatewayMethod && r.Path == "op2"
	})
	var id struct {
		D struct {
			Token   string `json:"token"`
			Intents int    `json:"intents"`
		} `json:"d"`
	}
	identify.JSON(t, &id)
	if id.D.Token != "Bot test-bot-token" || id.D.Intents != 0 {
		t.Errorf("identify = %+v, want the bot token and no intents", id.D)
	}
	if reqs := f.api.Requests(); reqs[0].Method != http.MethodGet || reqs[0].Path != "/api/v9/gateway" {
		t.Errorf("the gateway address was not asked of api_url: %+v", reqs[0])
	}

	iid, token, body := slash(member("D-ADMIN"), "help", opt("command", "createaccount"))
	f.api.Dispatch(t, "INTERACTION_CREATE", body)
	cb := f.api.Wait(t, "the interaction callback", func(r discordtest.Request) bool {
		return r.Method == http.MethodPost && r.Path == "/api/v9/interactions/"+iid+"/"+token+"/callback"
	})
	var resp map[string]any
	cb.JSON(t, &resp)
	deferred(t, http.StatusOK, resp)
	if e := f.waitEdit(t, token); !strings.HasPrefix(e.Title, "/createaccount") {
		t.Errorf("embed = %+v", e)
	}

	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run returned %v", err)
	}
}

func TestFailedPostsDoNotLogTheToken(t *testing.T) {
	f := newFixture(t, discord.ModeHTTP, func(c *discord.Config) { c.APIURL = "http://127.0.0.1:1" })
	_, token, body := slash(member("D-ADMIN"), "help")
	status, resp := f.post(t, body)
	deferred(t, status, resp)
	// The queue runs the command and tries the edit, which fails; the
	// failure is counted, then logged.
	testwait.For(t, "the failed edit to be logged", func() bool { return strings.Contains(f.logs.String(), "cannot post a result") })
	f.adapter.Close()
	logs := f.logs.String()
	if !strings.Contains(logs, "cannot post a result") || !strings.Contains(logs, "[token]") {
		t.Errorf("the failed edit is not logged as expected:\n%s", logs)
	}
	if strings.Contains(logs, token) || strings.Contains(logs, "test-bot-token") {
		t.Errorf("the log holds a token:\n%s", logs)
	}
	if got := f.env.Metrics.Value("wikimod_discord_posts_failed_total", "kind", "result"); got != 1 {
		t.Errorf("failed posts metric = %v", got)
	}
	// After Close, interactions are refused rather than acknowledged and
	// dropped.
	_, _, body = slash(member("D-ADMIN"), "help")
	if status, _ := f.post(t, body); status != http.StatusServiceUnavailable {
		t.Errorf("after Close: status %d, want 503", status)
	}
}

// TestButtonOnlyCommandsAreNotRegistered: a command only buttons run (a
// reminder's Extend) is not offered as a slash command.
func TestButtonOnlyCommandsAreNotRegistered(t *testing.T) {
	cmds := discord.ApplicationCommands([]commands.Spec{
		{Name: "expiring", Summary: i18n.Raw("List the protections that expire soon"), Right: "protect",
			Params: []commands.Param{{Name: "within", Description: i18n.Raw("How far ahead")}}},
		{Name: "reminder", Summary: i18n.Raw("Act on a reminder"), Right: "protect", ButtonOnly: true},
	}, mw.Restrictions{Types: []string{"edit"}, Levels: []string{"", "sysop"}}, nil, discord.Words{})
	if len(cmds) != 1 || cmds[0].Name != "expiring" || len(cmds[0].Options) != 1 || cmds[0].Options[0].Name != "within" {
		t.Errorf("registered %+v, want /expiring alone", cmds)
	}
}

// TestTitleAutocomplete: typing a /protect title gets suggestions from the
// wiki's own page titles, for mapped members only.
func TestTitleAutocomplete(t *testing.T) {
	f := newFixture(t, discord.ModeHTTP)
	suggest := func(m ix, typed string) []string {
		t.Helper()
		_, _, body := interaction(discordgo.InteractionApplicationCommandAutocomplete, guildID, m, ix{
			"id": "C-protect", "name": "protect", "type": 1,
			"options": []ix{{"name": "title", "type": 3, "value": typed, "focused": true}, opt("edit", "sysop")},
		})
		status, resp := f.post(t, body)
		if status != 200 || resp["type"] != float64(discordgo.InteractionApplicationCommandAutocompleteResult) {
			t.Fatalf("autocomplete response = %d %v", status, resp)
		}
		var titles []string
		data, _ := resp["data"].(map[string]any)
		choices, _ := data["choices"].([]any)
		for _, c := range choices {
			titles = append(titles, c.(map[string]any)["value"].(string))
		}
		return titles
	}
	if got := suggest(member("D-ADMIN"), "Main"); !slices.Contains(got, "Main Page") {
		t.Errorf("suggestions for %q = %v, want Main Page among them", "Main", got)
	}
	if got := suggest(member("D-NOBODY"), "Main"); len(got) != 0 {
		t.Errorf("an unmapped member got suggestions: %v", got)
	}
	cmds := discord.ApplicationCommands(f.env.Service.Specs(), mw.Restrictions{Types: []string{"edit"}, Levels: []string{"", "sysop"}}, f.env.Service.Wikis(), discord.Words{})
	for _, c := range cmds {
		for _, o := range c.Options {
			if want := c.Name == "protect" && (o.Name == "title" || commands.WikiChoices(c.Name, o.Name) != commands.NoChoices); o.Autocomplete != want {
				t.Errorf("/%s %s: autocomplete %v", c.Name, o.Name, o.Autocomplete)
			}
		}
	}
}
