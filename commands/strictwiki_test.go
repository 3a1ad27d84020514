package commands_test

import (
	"context"
	"strings"
	"testing"

	"github.com/wikimod/wikimod/commands"
	"github.com/wikimod/wikimod/internal/devwiki"
	"github.com/wikimod/wikimod/internal/testenv"
)

// startWiki starts a second real wiki with extra settings, for behaviour the
// shared test wiki does not show.
func startWiki(t *testing.T, opts devwiki.Options) *devwiki.Wiki {
	t.Helper()
	if err := devwiki.Check(); err != nil {
		devwiki.Need(t, nil)
	}
	opts.Dir = t.TempDir()
	w, err := devwiki.Start(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

// TestCaptchaWiki: a wiki that asks a CAPTCHA at account creation, even of
// administrators, gets a reply saying so and how to get past it.
func TestCaptchaWiki(t *testing.T) {
	w := startWiki(t, devwiki.Options{ExtraSettings: `
wfLoadExtensions( [ 'ConfirmEdit', 'ConfirmEdit/QuestyCaptcha' ] );
$wgCaptchaClass = 'QuestyCaptcha';
$wgCaptchaQuestions = [ 'What is the name of this wiki?' => 'TestWiki' ];
$wgCaptchaTriggers['createaccount'] = true;
$wgGroupPermissions['sysop']['skipcaptcha'] = false;
`})
	env := testenv.New(t, w, testenv.Options{})
	r := run(t, env, admin, `/createaccount username="Captcha Person" password="Captcha-person-pass-7"`)
	if r.Outcome != commands.OutcomeWikiError || !strings.HasPrefix(r.Code, "captcha") {
		t.Fatalf("createaccount on a CAPTCHA wiki: %s/%s %s", r.Outcome, r.Code, r.String())
	}
	for _, want := range []string{"asks a CAPTCHA", "skipcaptcha", "Special:CreateAccount"} {
		if !strings.Contains(english(r.Text), want) {
			t.Errorf("reply lacks %q: %s", want, r.Text)
		}
	}
	if groups, _ := env.Bot.UserGroups(context.Background(), "Captcha Person"); len(groups) != 0 {
		t.Error("the account was created anyway")
	}
}

// TestThrottledWiki: a bot password without the highvolume grant meets the
// wiki's account-creation throttle, and the reply says to wait or add the
// grant.
func TestThrottledWiki(t *testing.T) {
	w := startWiki(t, devwiki.Options{
		BotGrants: []string{"basic", "protect", "createaccount", "createeditmovepage"},
		ExtraSettings: `
$wgMainCacheType = CACHE_DB; // the throttle counts in the main cache
$wgAccountCreationThrottle = [ [ 'count' => 1, 'seconds' => 3600 ] ];
`})
	env := testenv.New(t, w, testenv.Options{})
	if r := run(t, env, admin, `/createaccount username="Throttle One" password="Throttle-one-pass-7"`); !r.OK() {
		t.Fatalf("first creation: %s", r.String())
	}
	r := run(t, env, admin, `/createaccount username="Throttle Two" password="Throttle-two-pass-7"`)
	if r.Outcome != commands.OutcomeWikiError || r.Code != "acct_creation_throttle_hit" || !strings.Contains(english(r.Text), "Try again later") {
		t.Errorf("second creation within the throttle: %s/%s %s", r.Outcome, r.Code, r.String())
	}
	if groups, _ := env.Bot.UserGroups(context.Background(), "Throttle Two"); len(groups) != 0 {
		t.Error("the throttled account was created anyway")
	}
}
