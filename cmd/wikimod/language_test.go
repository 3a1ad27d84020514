package main

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/wikimod/wikimod/bot/discord/discordtest"
	"github.com/wikimod/wikimod/commands"
	"github.com/wikimod/wikimod/i18n"
	"github.com/wikimod/wikimod/internal/testwait"
	"github.com/wikimod/wikimod/mw"
)

// TestLanguagesFromTheConfig: a wiki's language and the channels' are
// read from their sections (each platform's from its own), normalized,
// and wired to the service with the database keeping people's own
// choices; codes MediaWiki does not know are refused, naming the setting.
func TestLanguagesFromTheConfig(t *testing.T) {
	t.Setenv("WIKIMOD_BOT_PASSWORD", "x")
	t.Setenv("WIKIMOD_BOT_PASSWORD_ZH", "x")
	t.Setenv("WIKIMOD_BOT_PASSWORD_EN", "x")
	cfg, err := ParseConfig(`[wikis.zh]
api_url = "https://zh.example.org/w/api.php"
bot_user = "Admin@wikimod"
language = "zh-Hans"

[wikis.en]
api_url = "https://en.example.org/w/api.php"
bot_user = "Admin@wikimod"

[discord]
channel_languages = { "111" = "tr" }

[slack]
channel_languages = { "C1" = "zh_TW", "C2" = "nan" }
`, "t")
	if err != nil {
		t.Fatal(err)
	}
	got := cfg.languages(nil)
	want := commands.LanguageConfig{
		Wikis: map[string]string{"zh": "zh-hans"},
		Channels: map[string]string{
			commands.RouteKey("discord", "111"): "tr",
			commands.RouteKey("slack", "C1"):    "zh-tw",
			commands.RouteKey("slack", "C2"):    "nan",
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("languages = %+v\nwant %+v", got, want)
	}

	base := "[wiki]\napi_url = \"http://127.0.0.1:1/api.php\"\nbot_user = \"Admin@wikimod\"\n"
	for _, tc := range []struct{ text, want string }{
		{base + "language = \"klingon\"\n", `wiki.language "klingon"`},
		{base + "[discord]\nchannel_languages = { \"1\" = \"xx-nowhere\" }\n", `discord.channel_languages: 1: "xx-nowhere"`},
		{base + "[slack]\nchannel_languages = { \"C1\" = \"\" }\n", `slack.channel_languages: C1: ""`},
	} {
		if _, err := ParseConfig(tc.text, "test.toml"); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("config error = %v, want it to mention %q", err, tc.want)
		}
	}
}

// TestConsoleLanguage: wikimod console -lang CODE answers in CODE; without
// it, the environment's locale decides (LC_ALL, then LC_MESSAGES, then
// LANG), and a locale that names no language leaves it to the wiki.
func TestConsoleLanguage(t *testing.T) {
	for _, tc := range []struct {
		flag string
		env  map[string]string
		want string
	}{
		{"tr", map[string]string{"LANG": "zh_CN.UTF-8"}, "tr"},
		{"zh-Hant", nil, "zh-hant"},
		{"", map[string]string{"LANG": "tr_TR.UTF-8"}, "tr"},
		{"", map[string]string{"LC_ALL": "zh_CN.UTF-8", "LANG": "tr_TR.UTF-8"}, "zh-hans"},
		{"", map[string]string{"LC_MESSAGES": "zh_TW.UTF-8", "LANG": "tr_TR.UTF-8"}, "zh-hant"},
		{"", map[string]string{"LC_ALL": "C", "LANG": "tr_TR.UTF-8"}, ""},
		{"", map[string]string{"LANG": "C.UTF-8"}, ""},
		{"", nil, ""},
	} {
		got, err := consoleLanguage(tc.flag, func(k string) string { return tc.env[k] })
		if err != nil || got != tc.want {
			t.Errorf("-lang %q with %v: %q, %v; want %q", tc.flag, tc.env, got, err, tc.want)
		}
	}
	if _, err := consoleLanguage("klingon", nil); err == nil || !strings.Contains(err.Error(), `-lang "klingon"`) {
		t.Errorf("-lang klingon: %v", err)
	}

	// On the real wiki: the reply names the protection in the wiki's
	// Turkish.
	path := writeConfig(t, "")
	title := testwait.Unique("Console Turkish ")
	var out, errOut bytes.Buffer
	in := strings.NewReader(`/protect "` + title + `" create=sysop expiry="1 day"` + "\n")
	if code := Main([]string{"console", "-config", path, "-as", "admin", "-lang", "tr"}, in, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	c, _ := mw.New(mw.Config{APIURL: wiki.APIURL})
	msgs, err := c.Messages(context.Background(), "tr", "restriction-create")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{msgs["restriction-create"], "Yalnızca hizmetlilere izin verilir"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("console output lacks the wiki's %q:\n%s", want, out.String())
		}
	}
	// Finnish, which wikimod has no catalogue for: the wiki's words are
	// Finnish (the wiki has them), wikimod's own are English (MediaWiki's
	// fallback for fi), and the wiki's refusal is the wiki's Finnish.
	out.Reset()
	fiTitle := testwait.Unique("Console Finnish ")
	in = strings.NewReader(`/protect "` + fiTitle + `" create=sysop expiry="1 day"` + "\n" +
		`/validatepassword password="Fi-check-pass-77" user=Admin` + "\n")
	if code := Main([]string{"console", "-config", path, "-as", "admin", "-lang", "fi"}, in, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	fi, err := c.Messages(context.Background(), "fi", "restriction-create", "protect-level-sysop")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Protection of " + fiTitle + " changed.", fi["restriction-create"], fi["protect-level-sysop"] + " (sysop)", "Salli vain ylläpitäjät"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("-lang fi: console output lacks %q:\n%s", want, out.String())
		}
	}
	if !strings.Contains(out.String(), "Pyytämäsi käyttäjänimi on jo käytössä") {
		t.Errorf("-lang fi: the wiki's refusal of a taken name is not the wiki's Finnish:\n%s", out.String())
	}

	if code := Main([]string{"console", "-config", path, "-as", "admin", "-lang", "klingon"}, strings.NewReader(""), &out, &errOut); code == 0 || !strings.Contains(errOut.String(), `-lang "klingon"`) {
		t.Errorf("-lang klingon: exit %d, %s", code, errOut.String())
	}
}

// TestDiscordRegisterInTheShippedLanguages: wikimod discord register
// describes every command in each language wikimod ships, for each of the
// language's Discord locales.
func TestDiscordRegisterInTheShippedLanguages(t *testing.T) {
	path := discordConfig(t, discordtest.NewServer(t), discordtest.NewSigner())
	var out, errOut bytes.Buffer
	if code := Main([]string{"discord", "register", "-config", path, "-print"}, nil, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	var cmds []struct {
		Name         string            `json:"name"`
		Descriptions map[string]string `json:"description_localizations"`
	}
	if err := json.Unmarshal(out.Bytes(), &cmds); err != nil {
		t.Fatalf("-print: %v\n%s", err, out.String())
	}
	var locales []string
	for _, lang := range i18n.Default().Languages() {
		if lang != "en" {
			locales = append(locales, i18n.DiscordLocales(lang)...)
		}
	}
	for _, c := range cmds {
		for _, loc := range locales {
			if c.Descriptions[loc] == "" {
				t.Errorf("/%s has no description for %s: %q", c.Name, loc, c.Descriptions)
			}
		}
	}
}
