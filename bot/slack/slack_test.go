package slack_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/wikimod/wikimod/bot/reminders"
	wikislack "github.com/wikimod/wikimod/bot/slack"
	"github.com/wikimod/wikimod/commands"
	"github.com/wikimod/wikimod/i18n"
	"github.com/wikimod/wikimod/internal/testenv"
	"github.com/wikimod/wikimod/internal/testwait"
	"github.com/wikimod/wikimod/mw"
	"github.com/wikimod/wikimod/storage"
)

// TestSignedSlashCommandsRunAgainstTheWiki runs the four commands as signed
// slash commands through the real handler against the real wiki. Each is
// acknowledged at once and its result arrives, ephemeral, at the response
// URL; the protect result is also announced in the notice channel.
func TestSignedSlashCommandsRunAgainstTheWiki(t *testing.T) {
	h := newHarness(t, testenv.Options{}, nil)
	ctx := context.Background()
	const typed = "Slack-typed-pass-4242"
	forgetful, newcomer := testwait.Unique("Slack Forgetful "), testwait.Unique("Slack Typed ")

	t.Run("protect", func(t *testing.T) {
		form, ack := h.slash(t, "U-ADMIN", "/protect", `"Slack Page" create=sysop expiry="1 week" reason="slack test"`)
		if ack != `{"response_type":"ephemeral","text":"Working on /protect…"}` {
			t.Errorf("ack = %s", ack)
		}
		res := h.slack.waitWebhook(t, form.Get("response_url"))
		if res.Msg["response_type"] != "ephemeral" {
			t.Errorf("response_type = %v", res.Msg["response_type"])
		}
		// Times are Slack's date markup, which each reader's client shows
		// in their own zone and language: kept as markup, not escaped.
		if !strings.Contains(res.text(), "Protection of Slack Page changed.") || !strings.Contains(res.text(), "Create (create): Allow only administrators (sysop), until <!date^") {
			t.Errorf("fallback text = %q", res.text())
		}
		// Block Kit: the title, then a section with each protection and its expiry.
		if b := res.blocks(); !strings.Contains(b, `"text":"*Create (create)*\nAllow only administrators (sysop), until \u003c!date^`) || !strings.Contains(b, "Open on the wiki") {
			t.Errorf("blocks = %s", b)
		}
		if p := h.env.Protections(t, "Slack Page")["create"]; p.Level != "sysop" {
			t.Errorf("wiki protection = %+v", p)
		}
		announce := h.slack.waitCall(t, "chat.postMessage", 1)
		if announce.Form.Get("channel") != noticeChannel || !strings.Contains(announce.Form.Get("blocks"), `by \u003c@U-ADMIN\u003e with /protect`) ||
			!strings.Contains(announce.Form.Get("text"), "Protection of Slack Page changed.") {
			t.Errorf("announcement = %v", announce.Form)
		}
		rec := h.env.LastAudit(t)
		if rec.Platform != "slack" || rec.UserID != "U-ADMIN" || rec.Channel != userChannel || rec.Outcome != commands.OutcomeOK {
			t.Errorf("audit = %+v", rec)
		}
	})

	t.Run("validatepassword", func(t *testing.T) {
		res := h.run(t, "U-ADMIN", "/validatepassword", `password=`+typed+` user="Slack Hopeful"`)
		if !strings.Contains(res.text(), "The wiki accepts this password for the new account Slack Hopeful.") {
			t.Errorf("reply = %q", res.text())
		}
		if rec := h.env.LastAudit(t); rec.Command != "validatepassword" || rec.Args["password"] != "[redacted]" {
			t.Errorf("audit = %+v", rec)
		}
	})

	t.Run("resetpassword", func(t *testing.T) {
		if err := wiki.CreateUser(ctx, forgetful, "Slack-forgetful-pass-1", "forgetful@example.test", false); err != nil {
			t.Fatal(err)
		}
		mail, _ := wiki.Mail()
		res := h.run(t, "U-ADMIN", "/resetpassword", forgetful)
		if !strings.Contains(res.text(), "Password reset requested for user "+forgetful+".") {
			t.Errorf("reply = %q", res.text())
		}
		if _, err := wiki.WaitMail(ctx, len(mail), "forgetful@example.test"); err != nil {
			t.Error(err)
		}
	})

	t.Run("createaccount", func(t *testing.T) {
		res := h.run(t, "U-ADMIN", "/createaccount", `username="`+newcomer+`" password=`+typed+` reason="from slack"`)
		if !strings.Contains(res.text(), "Account "+newcomer+" created.") {
			t.Errorf("reply = %q", res.text())
		}
		users, err := h.env.Bot.UserGroups(ctx, newcomer)
		if err != nil || users[newcomer] == nil {
			t.Errorf("account on the wiki: %v %v", users, err)
		}
	})

	// A typed password reaches the wiki and nothing else.
	if strings.Contains(h.slack.everything(), typed) || strings.Contains(h.logs.String(), typed) {
		t.Error("a typed password was echoed to Slack or logged")
	}
	recs, err := h.env.DB.Audit(ctx, storage.AuditFilter{Limit: 20})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(recs)
	if strings.Contains(string(b), typed) {
		t.Error("the audit log holds a typed password")
	}
	if n := h.slack.count("views.open"); n != 0 {
		t.Errorf("views.open called %d times for typed passwords", n)
	}
}

// TestRefusedRequestsRunNothing sends requests Slack did not sign, or
// signed too long ago: each gets 401, runs nothing, and is recorded as a
// security event, never as a command.
func TestRefusedRequestsRunNothing(t *testing.T) {
	h := newHarness(t, testenv.Options{}, nil)
	ctx := context.Background()
	body := h.slashForm("U-ADMIN", "/protect", `"Refused Page" create=sysop`).Encode()
	now := h.clock.Now().Unix()
	sig := func(ts int64) string { return wikislack.Sign(signingSecret, ts, []byte(body)) }
	ts := func(v int64) string { return strconv.FormatInt(v, 10) }

	cases := []struct {
		name    string
		path    string
		headers map[string]string
		kind    string
	}{
		{"forged", "/slack/commands", map[string]string{"X-Slack-Request-Timestamp": ts(now), "X-Slack-Signature": wikislack.Sign("not-the-secret", now, []byte(body))}, "bad-signature"},
		{"tampered", "/slack/interactions", map[string]string{"X-Slack-Request-Timestamp": ts(now), "X-Slack-Signature": sig(now - 1)}, "bad-signature"},
		{"not-hex", "/slack/commands", map[string]string{"X-Slack-Request-Timestamp": ts(now), "X-Slack-Signature": "v0=zz"}, "bad-signature"},
		{"stale", "/slack/commands", map[string]string{"X-Slack-Request-Timestamp": ts(now - 301), "X-Slack-Signature": sig(now - 301)}, "stale-timestamp"},
		{"future", "/slack/commands", map[string]string{"X-Slack-Request-Timestamp": ts(now + 301), "X-Slack-Signature": sig(now + 301)}, "stale-timestamp"},
		{"unsigned", "/slack/commands", nil, "missing-signature"},
		{"no-timestamp", "/slack/interactions", map[string]string{"X-Slack-Signature": sig(now)}, "missing-signature"},
	}
	for _, tc := range cases {
		code, _ := h.postRaw(t, tc.path, body, tc.headers)
		if code != http.StatusUnauthorized {
			t.Errorf("%s: HTTP %d, want 401", tc.name, code)
		}
	}

	// Nothing ran: the refusal happens before any work starts, so the
	// audit log and Slack have heard nothing.
	recs, err := h.env.DB.Audit(ctx, storage.AuditFilter{Limit: 10})
	if err != nil || len(recs) != 0 {
		t.Errorf("audit log after refused requests = %+v, %v", recs, err)
	}
	if n := h.slack.webhookCount(); n != 0 || len(h.slack.everything()) != 0 {
		t.Errorf("Slack was answered %d times", n)
	}
	if ps := h.env.Protections(t, "Refused Page"); len(ps) != 0 {
		t.Errorf("Refused Page got protected: %+v", ps)
	}
	events := h.securityEvents()
	if len(events) != len(cases) {
		t.Fatalf("security events = %+v", events)
	}
	for i, tc := range cases {
		ev := events[i]
		if ev.Kind != tc.kind || !strings.HasPrefix(ev.Remote, "127.0.0.1:") || !strings.Contains(ev.Detail, tc.path) {
			t.Errorf("%s: event = %+v, want kind %s", tc.name, ev, tc.kind)
		}
		if strings.Contains(ev.Detail, "Refused") || strings.Contains(ev.Detail, signingSecret) {
			t.Errorf("%s: event detail holds the body or the secret: %q", tc.name, ev.Detail)
		}
	}
	if v := h.env.Metrics.Value("wikimod_security_events_total", "platform", "slack", "kind", "bad-signature"); v != 3 {
		t.Errorf("bad-signature events counted = %v", v)
	}

	// Exactly five minutes either way is still accepted.
	for _, at := range []int64{now - 300, now + 300} {
		form := h.slashForm("U-ADMIN", "/help", "")
		b := form.Encode()
		code, _ := h.postRaw(t, "/slack/commands", b, map[string]string{"X-Slack-Request-Timestamp": ts(at), "X-Slack-Signature": wikislack.Sign(signingSecret, at, []byte(b))})
		if code != http.StatusOK {
			t.Errorf("timestamp %+ds: HTTP %d", at-now, code)
		}
		h.slack.waitWebhook(t, form.Get("response_url"))
	}
}

// TestSignatureSlackExample checks the signature code against the example
// request and signature in Slack's request-signing documentation
// (https://api.slack.com/authentication/verifying-requests-from-slack).
func TestSignatureSlackExample(t *testing.T) {
	const (
		secret = "8f742231b10e8888abcd99yyyzzz85a5"
		ts     = "1531420618"
		body   = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
		sig    = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
	)
	at := time.Unix(1531420618, 0)
	header := http.Header{"X-Slack-Request-Timestamp": {ts}, "X-Slack-Signature": {sig}}
	if got := wikislack.Sign(secret, 1531420618, []byte(body)); got != sig {
		t.Errorf("Sign = %s, want Slack's %s", got, sig)
	}
	if kind := wikislack.VerifySignature(secret, at, header, []byte(body)); kind != "" {
		t.Errorf("Slack's example refused: %s", kind)
	}
	if kind := wikislack.VerifySignature(secret, at, header, []byte(strings.Replace(body, "roadrunner", "wile_e", 1))); kind != "bad-signature" {
		t.Errorf("altered body: %q", kind)
	}
	if kind := wikislack.VerifySignature(secret, at.Add(5*time.Minute+time.Second), header, []byte(body)); kind != "stale-timestamp" {
		t.Errorf("replayed later: %q", kind)
	}

	// The same request through the real handler, with the clock at the
	// example's time: it is accepted and runs /webhook-collect (which
	// wikimod does not have). Slack's response URL is caught locally.
	svc := &recorder{}
	caught := make(chan string, 1)
	mux := recordingMux(t, secret, at, svc, wikislack.Config{HTTPClient: &http.Client{Transport: roundTrip(func(r *http.Request) (*http.Response, error) {
		if r.URL.Path == "/api/users.info" {
			// The person's language, asked for when the command's turn
			// comes.
			return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}},
				Body: io.NopCloser(strings.NewReader(`{"ok":true,"user":{"id":"U2CERLKJA","locale":"en-US"}}`)), Request: r}, nil
		}
		caught <- r.URL.String()
		return &http.Response{StatusCode: 200, Body: http.NoBody, Request: r}, nil
	})}})
	req := httptestRequest(body, header)
	rw := httptest.NewRecorder()
	mux.ServeHTTP(rw, req)
	if rw.Code != http.StatusOK {
		t.Fatalf("Slack's example through the handler: HTTP %d %s", rw.Code, rw.Body.String())
	}
	select {
	case u := <-caught:
		if u != "https://hooks.slack.com/commands/T1DC2JH3J/397700885554/96rGlfmibIGlgcZRskXaIFfN" {
			t.Errorf("reply posted to %s", u)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no reply was posted to the example's response URL")
	}
	if got := svc.names(); len(got) != 1 || got[0] != "webhook-collect" || svc.actors[0].UserID != "U2CERLKJA" {
		t.Errorf("service ran %v as %+v", got, svc.actors)
	}
}

// TestSignatureAgreesWithSlackGo checks that the signature code accepts and
// refuses exactly what slack-go's SecretsVerifier does, for requests signed
// at the current time (SecretsVerifier compares with the wall clock).
func TestSignatureAgreesWithSlackGo(t *testing.T) {
	now := time.Now()
	body := []byte("command=%2Fhelp&user_id=U1&text=")
	good := wikislack.Sign(signingSecret, now.Unix(), body)
	for _, sig := range []string{good, wikislack.Sign("other", now.Unix(), body), "v0=" + strings.Repeat("0", 64), "v1=" + good[3:]} {
		header := http.Header{"X-Slack-Request-Timestamp": {strconv.FormatInt(now.Unix(), 10)}, "X-Slack-Signature": {sig}}
		ours := wikislack.VerifySignature(signingSecret, now, header, body) == ""
		sv, err := slackapi.NewSecretsVerifier(header, signingSecret)
		theirs := false
		if err == nil {
			sv.Write(body)
			theirs = sv.Ensure() == nil
		}
		if ours != theirs {
			t.Errorf("signature %.12s…: wikimod accepts=%v, slack-go accepts=%v", sig, ours, theirs)
		}
	}
}

// TestUnmappedUserDenied: a Slack user no [[access]] rule names is refused,
// privately, with what to do about it, and nothing changes on the wiki.
func TestUnmappedUserDenied(t *testing.T) {
	h := newHarness(t, testenv.Options{}, nil)
	res := h.run(t, "U-STRANGER", "/protect", `"Denied Page" create=sysop`)
	if res.Msg["response_type"] != "ephemeral" || !strings.Contains(res.text(), "Not allowed.") ||
		!strings.Contains(res.text(), "add your id `U-STRANGER` to an `[[access]]` rule") {
		t.Errorf("reply = %v", res.Msg)
	}
	if !strings.Contains(res.blocks(), ":no_entry:") {
		t.Errorf("blocks = %s", res.blocks())
	}
	if ps := h.env.Protections(t, "Denied Page"); len(ps) != 0 {
		t.Errorf("protections = %+v", ps)
	}
	if rec := h.env.LastAudit(t); rec.Outcome != commands.OutcomeDenied || rec.UserID != "U-STRANGER" {
		t.Errorf("audit = %+v", rec)
	}
	if n := h.slack.count("chat.postMessage"); n != 0 {
		t.Errorf("a denial was announced (%d messages)", n)
	}
	// Someone unmapped is refused before being asked for a password: no
	// form opens, and the refusal is audited.
	res = h.run(t, "U-STRANGER", "/createaccount", `username="Never Asked" email=never@example.test`)
	if !strings.Contains(res.text(), "Not allowed.") {
		t.Errorf("createaccount reply = %q", res.text())
	}
	if n := h.slack.count("views.open"); n != 0 {
		t.Errorf("a password form was opened for someone who may not create accounts")
	}
	if rec := h.env.LastAudit(t); rec.Outcome != commands.OutcomeDenied || rec.Command != "createaccount" {
		t.Errorf("audit = %+v", rec)
	}
	// A helper mapped to autoconfirmed lacks the protect right.
	res = h.run(t, "U-HELPER", "/protect", `"Denied Page" create=sysop`)
	if !strings.Contains(res.text(), "You need the wiki right `protect`") {
		t.Errorf("helper reply = %q", res.text())
	}
	// A usage error says how to do it right.
	res = h.run(t, "U-ADMIN", "/protect", `"Denied Page" create=sysop reason="unclosed`)
	if !strings.Contains(res.text(), "A quote is not closed") {
		t.Errorf("usage reply = %q", res.text())
	}
}

// TestUserGroupsMapToWikiGroups: membership of a Slack user group read with
// usergroups.list counts for slack_usergroups rules, is cached for the TTL,
// and counts for nothing when Slack cannot be asked.
func TestUserGroupsMapToWikiGroups(t *testing.T) {
	h := newHarness(t, testenv.Options{}, func(c *wikislack.Config) {
		c.UserGroups = true
		c.GroupsTTL = 10 * time.Minute
	})
	h.slack.groups = []slackapi.UserGroup{
		{ID: "S-MODS", Handle: "mods", Users: []string{"U-GROUPIE", "U-OTHER"}},
		{ID: "S-FANS", Handle: "fans", Users: []string{"U-GROUPIE"}},
	}
	res := h.run(t, "U-GROUPIE", "/protect", `"Group Page" create=sysop expiry="1 day"`)
	if !strings.Contains(res.text(), "Protection of Group Page changed.") {
		t.Fatalf("group member's reply = %q", res.text())
	}
	call := h.slack.waitCall(t, "usergroups.list", 1)
	if call.Form.Get("include_users") != "true" {
		t.Errorf("usergroups.list form = %v", call.Form)
	}

	h.clock.Add(9 * time.Minute)
	h.run(t, "U-GROUPIE", "/protect", `"Group Page" create=sysop expiry="2 days"`)
	if n := h.slack.count("usergroups.list"); n != 1 {
		t.Errorf("usergroups.list called %d times within the TTL", n)
	}

	// The TTL has passed and Slack refuses: no group counts.
	h.clock.Add(2 * time.Minute)
	h.slack.mu.Lock()
	h.slack.groupsErr = "missing_scope"
	h.slack.mu.Unlock()
	res = h.run(t, "U-GROUPIE", "/protect", `"Group Page" create=sysop expiry="3 days"`)
	if !strings.Contains(res.text(), "not mapped to any wiki group") {
		t.Errorf("reply with usergroups.list failing = %q", res.text())
	}
	if n := h.slack.count("usergroups.list"); n != 2 {
		t.Errorf("usergroups.list called %d times", n)
	}
	// slack_users rules still work.
	res = h.run(t, "U-ADMIN", "/protect", `"Group Page" create=sysop expiry="4 days"`)
	if !strings.Contains(res.text(), "Protection of Group Page changed.") {
		t.Errorf("mapped user's reply = %q", res.text())
	}
	if !strings.Contains(h.logs.String(), "cannot read user groups") {
		t.Error("the failed lookup was not logged")
	}
}

// TestModalAsksForPassword: /createaccount without a password opens a
// modal (views.open with the trigger id); a password the wiki rejects is
// shown in the modal; a good one closes it, creates the account, and the
// result arrives privately.
func TestModalAsksForPassword(t *testing.T) {
	h := newHarness(t, testenv.Options{}, nil)
	ctx := context.Background()
	person := testwait.Unique("Slack Modal ")
	form, ack := h.slash(t, "U-ADMIN", "/createaccount", `username="`+person+`" email=modal@example.test`)
	if ack != "" {
		t.Errorf("ack = %q, want an empty body", ack)
	}
	open := h.slack.waitCall(t, "views.open", 1)
	if open.JSON["trigger_id"] != form.Get("trigger_id") {
		t.Errorf("views.open trigger_id = %v", open.JSON["trigger_id"])
	}
	var view slackapi.View
	b, _ := json.Marshal(open.JSON["view"])
	if err := json.Unmarshal(b, &view); err != nil {
		t.Fatal(err)
	}
	if view.Type != slackapi.VTModal || view.CallbackID == "" || !strings.Contains(view.PrivateMetadata, person) {
		t.Errorf("view = %s", b)
	}
	if !strings.Contains(string(b), `"optional":true`) || !strings.Contains(string(b), "emails a temporary password to modal@example.test") {
		t.Errorf("with an email address the password should be optional: %s", b)
	}
	if recs, _ := h.env.DB.Audit(ctx, storage.AuditFilter{Limit: 5}); len(recs) != 0 {
		t.Errorf("something ran before the password was given: %+v", recs)
	}
	// Without an email address, the password must be given, as on Discord.
	h.slash(t, "U-ADMIN", "/createaccount", `username="`+testwait.Unique("Slack Unmailed ")+`"`)
	second, _ := json.Marshal(h.slack.waitCall(t, "views.open", 2).JSON["view"])
	if strings.Contains(string(second), `"optional":true`) || strings.Contains(string(second), "temporary password") {
		t.Errorf("without an email address the password is optional: %s", second)
	}

	submit := func(password string) (int, string) {
		return h.interact(t, map[string]any{
			"type": "view_submission",
			"user": map[string]any{"id": "U-ADMIN", "name": "admin"},
			"view": map[string]any{
				"id": "V-1", "type": "modal", "callback_id": view.CallbackID, "private_metadata": view.PrivateMetadata,
				"state": map[string]any{"values": map[string]any{"secret": map[string]any{"value": map[string]any{"type": "plain_text_input", "value": password}}}},
			},
		})
	}

	const weak, good = "short", "Slack-modal-pass-4343"
	code, body := submit(weak)
	var resp slackapi.ViewSubmissionResponse
	if err := json.Unmarshal([]byte(body), &resp); code != 200 || err != nil || resp.ResponseAction != slackapi.RAErrors || !strings.Contains(resp.Errors["secret"], "passwordincommonlist") {
		t.Fatalf("weak password: HTTP %d %s", code, body)
	}
	if h.slack.webhookCount() != 0 {
		t.Error("a rejected password in the modal also posted a reply")
	}

	code, body = submit(good)
	if code != 200 || body != "" {
		t.Fatalf("good password: HTTP %d %q, want an empty body that closes the modal", code, body)
	}
	res := h.slack.waitWebhook(t, form.Get("response_url"))
	if !strings.Contains(res.text(), "Account "+person+" created.") || res.Msg["response_type"] != "ephemeral" {
		t.Errorf("result = %v", res.Msg)
	}
	users, err := h.env.Bot.UserGroups(ctx, person)
	if err != nil || users[person] == nil {
		t.Errorf("account on the wiki: %v %v", users, err)
	}
	rec := h.env.LastAudit(t)
	if rec.Command != "createaccount" || rec.Outcome != commands.OutcomeOK || rec.Args["password"] != "[redacted]" || rec.UserID != "U-ADMIN" || rec.Channel != userChannel {
		t.Errorf("audit = %+v", rec)
	}
	if strings.Contains(h.slack.everything(), good) || strings.Contains(h.logs.String(), good) {
		t.Error("the modal's password reached Slack or the log")
	}
	recs, _ := h.env.DB.Audit(ctx, storage.AuditFilter{Limit: 10})
	if b, _ := json.Marshal(recs); strings.Contains(string(b), good) {
		t.Error("the audit log holds the modal's password")
	}
}

// TestModalValidatePassword: /validatepassword without a password asks for
// it in a modal where it is required, and the verdict arrives privately.
// Without a trigger id, or when Slack does not open the modal, the person
// is told to type it.
func TestModalValidatePassword(t *testing.T) {
	h := newHarness(t, testenv.Options{}, nil)
	form, _ := h.slash(t, "U-HELPER", "/validatepassword", "")
	open := h.slack.waitCall(t, "views.open", 1)
	b, _ := json.Marshal(open.JSON["view"])
	if strings.Contains(string(b), `"optional":true`) {
		t.Errorf("the password is optional in /validatepassword's modal: %s", b)
	}
	var view slackapi.View
	json.Unmarshal(b, &view)
	code, body := h.interact(t, map[string]any{
		"type": "view_submission",
		"user": map[string]any{"id": "U-HELPER", "name": "helper"},
		"view": map[string]any{"callback_id": view.CallbackID, "private_metadata": view.PrivateMetadata,
			"state": map[string]any{"values": map[string]any{"secret": map[string]any{"value": map[string]any{"type": "plain_text_input", "value": "Slack-check-pass-9191"}}}}},
	})
	if code != 200 || body != "" {
		t.Fatalf("submission: HTTP %d %q", code, body)
	}
	res := h.slack.waitWebhook(t, form.Get("response_url"))
	if !strings.Contains(res.text(), "The wiki accepts this password") {
		t.Errorf("verdict = %q", res.text())
	}

	h.slack.mu.Lock()
	h.slack.viewsErr = "expired_trigger_id"
	h.slack.mu.Unlock()
	res = h.run(t, "U-HELPER", "/validatepassword", "")
	if !strings.Contains(res.text(), "Slack did not open the form, so nothing was done.") || !strings.Contains(res.text(), "type `password=` in the command") || !strings.Contains(res.text(), "/validatepassword password=PASSWORD") {
		t.Errorf("reply when views.open fails = %q", res.text())
	}
	// Bare words may be a password typed without its key: no modal, and
	// the refusal does not repeat them.
	res = h.run(t, "U-HELPER", "/validatepassword", "hunter2-typed-bare")
	if strings.Contains(res.raw(), "hunter2-typed-bare") || !strings.Contains(res.text(), "takes only `key=value` arguments") {
		t.Errorf("bare words: %q", res.text())
	}
}

func (w webhook) raw() string { return w.Raw }

// TestNotifyButtonsRunAsPresser: Notify posts to the notice channel with the
// reply's actions as buttons; pressing one runs its command as the person
// who pressed it, with the permission check, and answers privately.
func TestNotifyButtonsRunAsPresser(t *testing.T) {
	var ran []commands.Args
	extra := commands.Command{
		Spec: commands.Spec{Name: "reminder", Summary: i18n.Raw("Act on a reminder"), Right: "protect",
			Params: []commands.Param{{Name: "do"}, {Name: "id"}}},
		Run: func(_ context.Context, req *commands.Request) (commands.Reply, error) {
			ran = append(ran, req.Args)
			return commands.Reply{Title: i18n.Raw("Reminder " + req.Args.Named["id"] + ": " + req.Args.Named["do"] + " done.")}, nil
		},
	}
	h := newHarness(t, testenv.Options{Extra: []commands.Command{extra}}, nil)
	notice := commands.Reply{Title: i18n.Raw("Protection of <Main Page> expires in 1 hour."), Actions: []commands.Action{
		{Label: i18n.Raw("Extend a week"), Style: "primary", Command: "reminder", Args: map[string]string{"do": "extend", "id": "7"}},
		{Label: i18n.Raw("Dismiss"), Command: "reminder", Args: map[string]string{"do": "dismiss", "id": "7"}},
	}}
	if err := h.ad.Notify(context.Background(), notice); err != nil {
		t.Fatal(err)
	}
	msg := h.slack.waitCall(t, "chat.postMessage", 1)
	if msg.Form.Get("channel") != noticeChannel || !strings.Contains(msg.Form.Get("text"), "&lt;Main Page&gt;") {
		t.Errorf("notice = %v", msg.Form)
	}
	var blocks slackapi.Blocks
	if err := json.Unmarshal([]byte(msg.Form.Get("blocks")), &blocks); err != nil {
		t.Fatal(err)
	}
	var buttons []*slackapi.ButtonBlockElement
	for _, b := range blocks.BlockSet {
		if ab, ok := b.(*slackapi.ActionBlock); ok {
			for _, e := range ab.Elements.ElementSet {
				buttons = append(buttons, e.(*slackapi.ButtonBlockElement))
			}
		}
	}
	if len(buttons) != 2 || buttons[0].Style != slackapi.StylePrimary || buttons[0].Text.Text != "Extend a week" {
		t.Fatalf("buttons = %s", msg.Form.Get("blocks"))
	}

	press := func(user string, b *slackapi.ButtonBlockElement) webhook {
		responseURL := h.slack.srv.URL + "/response/press-" + user
		code, body := h.interact(t, map[string]any{
			"type":         "block_actions",
			"user":         map[string]any{"id": user, "name": strings.ToLower(user)},
			"channel":      map[string]any{"id": noticeChannel},
			"container":    map[string]any{"type": "message", "channel_id": noticeChannel},
			"response_url": responseURL,
			"trigger_id":   "trigger-press",
			"actions":      []map[string]any{{"action_id": b.ActionID, "block_id": "b", "type": "button", "value": b.Value, "action_ts": "1"}},
		})
		if code != 200 || body != "" {
			t.Fatalf("press: HTTP %d %q", code, body)
		}
		return h.slack.waitWebhook(t, responseURL)
	}
	res := press("U-ADMIN", buttons[0])
	if !strings.Contains(res.text(), "Reminder 7: extend done.") || res.Msg["response_type"] != "ephemeral" {
		t.Errorf("press reply = %v", res.Msg)
	}
	if len(ran) != 1 || ran[0].Named["do"] != "extend" {
		t.Errorf("ran %+v", ran)
	}
	if rec := h.env.LastAudit(t); rec.Command != "reminder" || rec.UserID != "U-ADMIN" || rec.Channel != noticeChannel {
		t.Errorf("audit = %+v", rec)
	}
	res = press("U-STRANGER", buttons[1])
	if !strings.Contains(res.text(), "not mapped") || len(ran) != 1 {
		t.Errorf("stranger's press: %q, ran %d", res.text(), len(ran))
	}

	// A button whose value Slack would refuse is refused before posting.
	long := commands.Reply{Title: i18n.Raw("x"), Actions: []commands.Action{{Label: i18n.Raw("Big"), Command: "reminder", Args: map[string]string{"id": strings.Repeat("9", 2100)}}}}
	if err := h.ad.Notify(context.Background(), long); err == nil || !strings.Contains(err.Error(), "Slack allows 2000") {
		t.Errorf("oversized button: %v", err)
	}
}

// TestNewChecksConfig: configuration mistakes are refused with the field
// named.
func TestNewChecksConfig(t *testing.T) {
	svc := &recorder{}
	cases := []struct {
		cfg  wikislack.Config
		want string
	}{
		{wikislack.Config{Mode: "http", BotToken: botToken}, "no command service"},
		{wikislack.Config{Mode: "http", BotToken: botToken, Service: svc}, "slack.signing_secret is empty"},
		{wikislack.Config{Mode: "socket", BotToken: botToken, Service: svc}, "slack.app_token"},
		{wikislack.Config{Mode: "socket", BotToken: botToken, AppToken: "xoxb-wrong", Service: svc}, "xapp-"},
		{wikislack.Config{Mode: "http", SigningSecret: "s", BotToken: "xoxp-user", Service: svc}, "slack.bot_token"},
		{wikislack.Config{Mode: "webhook", SigningSecret: "s", BotToken: botToken, Service: svc}, `slack.mode "webhook"`},
		{wikislack.Config{Mode: "http", SigningSecret: "s", BotToken: botToken, Service: svc, APIURL: "slack.test/api"}, "slack.api_url"},
	}
	for _, tc := range cases {
		_, err := wikislack.New(tc.cfg)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%+v) = %v, want it to mention %q", tc.cfg.Mode, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), botToken) {
			t.Errorf("error shows the token: %v", err)
		}
	}
	ad, err := wikislack.New(wikislack.Config{Mode: "socket", BotToken: botToken, AppToken: "xapp-1", Service: svc})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	ad.Mount(mux) // socket mode serves nothing over HTTP
	if _, pattern := mux.Handler(httptestRequest("", nil)); pattern != "" {
		t.Errorf("socket mode mounted %q", pattern)
	}
	if ad.Name() != "slack" {
		t.Errorf("Name = %q", ad.Name())
	}
}

// recorder is a Service that records what it is asked and answers with
// the command name.
type recorder struct {
	mu     sync.Mutex
	calls  []string
	actors []commands.Actor
}

func (r *recorder) Execute(_ context.Context, a commands.Actor, name string, _ commands.Args) commands.Reply {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, name)
	r.actors = append(r.actors, a)
	return commands.Reply{Command: name, Outcome: commands.OutcomeOK, Title: i18n.Raw("ran " + name)}
}

func (r *recorder) Submit(ctx context.Context, job commands.Job) (commands.Reply, bool) {
	name, args := job.Name, job.Args
	if job.Line != "" {
		name, args, _ = commands.ParseLine(job.Line)
	}
	actor := job.Actor
	if job.Prepare != nil {
		job.Prepare(ctx, &actor)
	}
	reply := r.Execute(ctx, actor, name, args)
	go job.Deliver(context.Background(), reply)
	return commands.Reply{}, true
}

func (r *recorder) Spec(string) (commands.Spec, bool) { return commands.Spec{}, false }

func (r *recorder) Authorize(context.Context, commands.Actor, string, commands.Args) (commands.Reply, bool) {
	return commands.Reply{}, true
}

func (r *recorder) names() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.calls...)
}

// recordingMux mounts an HTTP-mode adapter, signing secret secret and
// clock stopped at at, whose commands go to svc. cfg may set more (a
// security hook, an HTTP client); by default every post to Slack answers
// 200 and goes nowhere.
func recordingMux(t *testing.T, secret string, at time.Time, svc *recorder, cfg wikislack.Config) *http.ServeMux {
	t.Helper()
	cfg.Mode, cfg.SigningSecret, cfg.BotToken, cfg.Service = wikislack.ModeHTTP, secret, botToken, svc
	cfg.Replays, cfg.Now = openDB(t, func() time.Time { return at }), func() time.Time { return at }
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Transport: roundTrip(func(r *http.Request) (*http.Response, error) {
			return &http.Response{StatusCode: 200, Body: http.NoBody, Request: r}, nil
		})}
	}
	ad, err := wikislack.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ad.Close() })
	mux := http.NewServeMux()
	ad.Mount(mux)
	return mux
}

type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func httptestRequest(body string, header http.Header) *http.Request {
	req, _ := http.NewRequest(http.MethodPost, "http://wikimod.test/slack/commands", strings.NewReader(body))
	req.RemoteAddr = "192.0.2.1:4444"
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return req
}

// TestSlackTextConventions: text as Slack sends it (&, < and > escaped;
// curly quotes from clients that convert them) reads as typed, and
// /wikimod is the app's /help.
func TestSlackTextConventions(t *testing.T) {
	h := newHarness(t, testenv.Options{}, nil)
	res := h.run(t, "U-ADMIN", "/protect", "\u201cQuote Page\u201d create=sysop expiry=\"1 day\" reason=\"spam &amp; &lt;vandalism&gt;\"")
	if !strings.Contains(res.text(), "Protection of Quote Page changed.") || !strings.Contains(res.text(), "The wiki's log says: spam &amp; &lt;vandalism&gt; — requested by Slack user") {
		t.Errorf("reply = %q", res.text())
	}
	if rec := h.env.LastAudit(t); rec.Args["_"] != "Quote Page" || rec.Args["reason"] != "spam & <vandalism>" {
		t.Errorf("audit args = %v", rec.Args)
	}
	res = h.run(t, "U-STRANGER", "/wikimod", "protect")
	if !strings.Contains(res.text(), "/protect TITLE") {
		t.Errorf("/wikimod protect = %q", res.text())
	}
	// Slack keeps /help for itself: wikimod's replies send people to
	// /wikimod instead.
	res = h.run(t, "U-STRANGER", "/wikimod", "")
	if all := res.text() + res.blocks(); strings.Contains(all, "/help") || !strings.Contains(all, "`/wikimod COMMAND` explains one") || !strings.Contains(res.blocks(), "*/wikimod*") {
		t.Errorf("/wikimod = %q %s", res.text(), res.blocks())
	}
}

// TestManifestMatchesCommands: the app manifest in docs/ is what Manifest
// makes of the commands wikimod runs by default (with linking and the
// reminders' commands): every command people type (with /wikimod for
// /help), none that only buttons run, each sent to the path Mount serves,
// with the scopes the adapter uses. Regenerate it with
// `wikimod slack manifest -config FILE`.
func TestManifestMatchesCommands(t *testing.T) {
	b, err := os.ReadFile("../../docs/slack-manifest.yml")
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, testenv.Options{Linking: true, Preferences: true, Extend: func(env *testenv.Env) ([]commands.Command, func(context.Context, commands.Actor, *commands.ProtectOutcome) error) {
		s, err := reminders.New(reminders.Config{Store: env.DB, Wikis: []reminders.Wiki{{Name: commands.DefaultWiki, Client: env.Bot}}})
		if err != nil {
			t.Fatal(err)
		}
		return s.Commands(), s.OnProtect
	}}, nil)
	specs := h.env.Service.Specs()
	manifest := wikislack.Manifest(specs, "")
	if manifest != string(b) {
		t.Errorf("docs/slack-manifest.yml is not what the commands make; regenerate it with wikimod slack manifest. It should read:\n%s", manifest)
	}
	typed := 0
	for _, sp := range specs {
		if sp.ButtonOnly {
			if strings.Contains(manifest, "- command: /"+sp.Name+"\n") {
				t.Errorf("the manifest registers /%s, which only buttons run", sp.Name)
			}
			continue
		}
		typed++
		name := "/" + sp.Name
		if sp.Name == "help" {
			name = "/wikimod"
		}
		if !strings.Contains(manifest, "- command: "+name+"\n") {
			t.Errorf("the manifest lacks %s", name)
		}
	}
	if n := strings.Count(manifest, "url: https://wikimod.example.org"+wikislack.CommandsPath); n != typed {
		t.Errorf("%d commands point at %s", n, wikislack.CommandsPath)
	}
	for _, want := range []string{"request_url: https://wikimod.example.org" + wikislack.InteractionsPath, "- commands\n", "- chat:write\n", "- usergroups:read\n", "- users:read\n", "socket_mode_enabled: false"} {
		if !strings.Contains(manifest, want) {
			t.Errorf("the manifest lacks %q", want)
		}
	}
	if strings.Contains(manifest, "should_escape: true") {
		t.Error("escaped commands would turn mentions into ids the grammar does not expect")
	}
	if got := wikislack.Manifest(specs, "bot.example.net"); strings.Contains(got, "wikimod.example.org") || !strings.Contains(got, "https://bot.example.net/slack/commands") {
		t.Error("the host given does not replace the placeholder everywhere")
	}
}

// gated holds every command until release is closed, standing in for a
// slow wiki.
type gated struct {
	wikislack.Service
	release chan struct{}
}

func (g gated) Submit(ctx context.Context, job commands.Job) (commands.Reply, bool) {
	deliver := job.Deliver
	job.Deliver = func(ctx context.Context, r commands.Reply) {
		<-g.release
		deliver(ctx, r)
	}
	return g.Service.Submit(ctx, job)
}

// TestSlowSubmissionAnswersLater: when the wiki takes longer than Slack
// waits for a modal submission, the modal is closed at once and the result,
// even a rejected password, follows privately at the response URL.
func TestSlowSubmissionAnswersLater(t *testing.T) {
	release := make(chan struct{})
	h := newHarness(t, testenv.Options{}, func(c *wikislack.Config) {
		c.Service = gated{Service: c.Service, release: release}
		c.SubmitWait = 50 * time.Millisecond
	})
	person := testwait.Unique("Slack Slow ")
	form, _ := h.slash(t, "U-ADMIN", "/createaccount", `"`+person+`"`)
	var view slackapi.View
	b, _ := json.Marshal(h.slack.waitCall(t, "views.open", 1).JSON["view"])
	json.Unmarshal(b, &view)
	code, body := h.interact(t, map[string]any{
		"type": "view_submission",
		"user": map[string]any{"id": "U-ADMIN", "name": "admin"},
		"view": map[string]any{"callback_id": view.CallbackID, "private_metadata": view.PrivateMetadata,
			"state": map[string]any{"values": map[string]any{"secret": map[string]any{"value": map[string]any{"type": "plain_text_input", "value": "password123"}}}}},
	})
	if code != 200 || body != "" {
		t.Errorf("submission while the wiki is slow: HTTP %d %q, want the modal closed", code, body)
	}
	close(release)
	res := h.slack.waitWebhook(t, form.Get("response_url"))
	if !strings.Contains(res.text(), "passwordincommonlist") || res.Msg["response_type"] != "ephemeral" {
		t.Errorf("late result = %v", res.Msg)
	}
}

// TestReplayInAnotherSpellingRunsNothing sends a signed request, then the
// same timestamp and body again with the signature's hex spelled another
// way (upper case, one letter's case changed): hex reads them alike, so
// they verify, and each must be refused as the replay it is, on the
// replica that took the first and on another sharing its database, on
// /slack/commands and /slack/interactions alike. The wiki sees one write.
func TestReplayInAnotherSpellingRunsNothing(t *testing.T) {
	h := newHarness(t, testenv.Options{}, nil)
	// A second replica (or the same bot after a restart): its own adapter
	// and service, the first's replay guard.
	other := newHarness(t, testenv.Options{}, func(c *wikislack.Config) { c.Replays = h.replays })
	ctx := context.Background()
	title := testwait.Unique("Replay Spelling ")

	form := h.slashForm("U-ADMIN", "/protect", fmt.Sprintf("%q create=sysop reason=once", title))
	body := form.Encode()
	ts := h.clock.Now().Unix()
	sig := wikislack.Sign(signingSecret, ts, []byte(body))
	headers := func(sig string) map[string]string {
		return map[string]string{"X-Slack-Request-Timestamp": strconv.FormatInt(ts, 10), "X-Slack-Signature": sig}
	}
	if code, b := h.postRaw(t, "/slack/commands", body, headers(sig)); code != http.StatusOK {
		t.Fatalf("first request: HTTP %d %s", code, b)
	}
	h.slack.waitWebhook(t, form.Get("response_url"))

	hexSig := strings.TrimPrefix(sig, "v0=")
	i := strings.IndexFunc(hexSig, func(r rune) bool { return r >= 'a' && r <= 'f' })
	if i < 0 {
		t.Fatalf("signature %s has no letter to change", sig)
	}
	spellings := []string{
		"v0=" + strings.ToUpper(hexSig),
		"v0=" + hexSig[:i] + strings.ToUpper(hexSig[i:i+1]) + hexSig[i+1:],
	}
	for _, sp := range spellings {
		if kind := wikislack.VerifySignature(signingSecret, h.clock.Now(), http.Header{"X-Slack-Request-Timestamp": {strconv.FormatInt(ts, 10)}, "X-Slack-Signature": {sp}}, []byte(body)); kind != "" {
			t.Fatalf("%s does not verify (%s): the test would prove nothing", sp, kind)
		}
		for _, replica := range []*harness{h, other} {
			if code, _ := replica.postRaw(t, "/slack/commands", body, headers(sp)); code != http.StatusUnauthorized {
				t.Errorf("replay spelled %s: HTTP %d, want 401", sp, code)
			}
		}
	}

	// The same on /slack/interactions: a signed button press, then its
	// replays in other spellings.
	payload, _ := json.Marshal(map[string]any{"type": "block_actions", "user": map[string]string{"id": "U-ADMIN"}, "actions": []any{}})
	ibody := url.Values{"payload": {string(payload)}}.Encode()
	isig := wikislack.Sign(signingSecret, ts, []byte(ibody))
	ih := func(sig string) map[string]string {
		return map[string]string{"X-Slack-Request-Timestamp": strconv.FormatInt(ts, 10), "X-Slack-Signature": sig}
	}
	if code, b := h.postRaw(t, "/slack/interactions", ibody, ih(isig)); code != http.StatusOK {
		t.Fatalf("first interaction: HTTP %d %s", code, b)
	}
	for _, replica := range []*harness{h, other} {
		if code, _ := replica.postRaw(t, "/slack/interactions", ibody, ih("v0="+strings.ToUpper(strings.TrimPrefix(isig, "v0=")))); code != http.StatusUnauthorized {
			t.Errorf("interaction replayed in upper case: HTTP %d, want 401", code)
		}
	}

	for _, replica := range []*harness{h, other} {
		var replays int
		for _, ev := range replica.securityEvents() {
			if ev.Kind == wikislack.KindReplay {
				replays++
			}
		}
		if replays != len(spellings)+1 {
			t.Errorf("replays refused on one replica = %d, want %d: %+v", replays, len(spellings)+1, replica.securityEvents())
		}
	}
	var rows int
	for _, env := range []*testenv.Env{h.env, other.env} {
		recs, err := env.DB.Audit(ctx, storage.AuditFilter{Limit: 50})
		if err != nil {
			t.Fatal(err)
		}
		rows += len(recs)
	}
	if rows != 1 {
		t.Errorf("audit rows = %d, want 1: the replays ran", rows)
	}
	log, err := h.env.Bot.LogEvents(ctx, mw.LogEventsQuery{Type: "protect", Title: title})
	if err != nil {
		t.Fatal(err)
	}
	if len(log.Events) != 1 {
		t.Errorf("the wiki's protect log has %d entries for %s, want 1", len(log.Events), title)
	}
}
