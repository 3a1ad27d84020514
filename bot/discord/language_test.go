package discord_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/bwmarrin/discordgo"

	"github.com/wikimod/wikimod/bot/discord"
	"github.com/wikimod/wikimod/bot/discord/discordtest"
	"github.com/wikimod/wikimod/commands"
	"github.com/wikimod/wikimod/i18n"
	"github.com/wikimod/wikimod/internal/testenv"
	"github.com/wikimod/wikimod/internal/testwait"
	"github.com/wikimod/wikimod/mw"
)

// langSpy is the real command service, recording the language of every
// reply it delivers, which the embed alone does not show while the
// catalogue has no translations.
type langSpy struct {
	*commands.Service
	mu    sync.Mutex
	langs map[string]string // by command title
}

func (s *langSpy) Submit(ctx context.Context, job commands.Job) (commands.Reply, bool) {
	deliver := job.Deliver
	title := job.Args.Named["title"]
	job.Deliver = func(ctx context.Context, r commands.Reply) {
		s.mu.Lock()
		s.langs[title] = r.Localizer.Lang
		s.mu.Unlock()
		deliver(ctx, r)
	}
	return s.Service.Submit(ctx, job)
}

func (s *langSpy) lang(title string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.langs[title]
}

// spying puts a langSpy between the adapter and the service.
func spying(spy *langSpy) func(*discord.Config) {
	return func(c *discord.Config) {
		spy.Service = c.Service.(*commands.Service)
		spy.langs = map[string]string{}
		c.Service = spy
	}
}

// inLocale is an interaction body sent from a Discord client set to
// locale.
func inLocale(t testing.TB, body []byte, locale string) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	m["locale"] = locale
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// wikiWord is the wiki's message key in lang, as the wiki itself has it.
func wikiWord(t testing.TB, c *mw.Client, lang, key string) string {
	t.Helper()
	msgs, err := c.Messages(context.Background(), lang, key)
	if err != nil || msgs[key] == "" {
		t.Fatalf("the wiki's %s in %s: %q, %v", key, lang, msgs[key], err)
	}
	return msgs[key]
}

// in renders m as a reader of lang sees it: the catalogue's words in lang
// and the wiki's.
func (f *fixture) in(t testing.TB, lang string, m i18n.Message) string {
	t.Helper()
	wiki, _ := f.env.Service.Wiki(commands.DefaultWiki)
	return f.env.Service.Localizer(context.Background(), wiki, lang).Text(m)
}

// TestProtectInTheMembersLanguage: a /protect from a Discord client set to
// Simplified Chinese, Traditional Chinese or Turkish is answered in that
// language, the protection named in the wiki's own words in it.
func TestProtectInTheMembersLanguage(t *testing.T) {
	spy := &langSpy{}
	f := newFixtureWith(t, testenv.Options{}, discord.ModeHTTP, spying(spy))
	if got := wikiWord(t, f.env.Bot, "tr", "protect-level-sysop"); got != "Yalnızca hizmetlilere izin verilir" {
		t.Errorf("the wiki's Turkish for sysop = %q", got)
	}
	for _, tc := range []struct{ locale, lang string }{{"zh-CN", "zh-hans"}, {"zh-TW", "zh-hant"}, {"tr", "tr"}} {
		t.Run(tc.locale, func(t *testing.T) {
			title := testwait.Unique("Discord Locale " + tc.locale + " ")
			_, token, body := slash(member("D-ADMIN"), "protect", opt("title", title), opt("create", "sysop"), opt("expiry", "1 day"))
			status, resp := f.post(t, inLocale(t, body, tc.locale))
			deferred(t, status, resp)
			e := f.waitEdit(t, token)
			if got := spy.lang(title); got != tc.lang {
				t.Errorf("reply in %q, want %q", got, tc.lang)
			}
			typ, level := f.in(t, tc.lang, commands.TypeName("create")), f.in(t, tc.lang, commands.LevelName("sysop"))
			if !strings.Contains(level, wikiWord(t, f.env.Bot, tc.lang, "protect-level-sysop")) {
				t.Errorf("the level is named %q, without the wiki's own words", level)
			}
			if got := fieldMap(e)[typ]; !strings.HasPrefix(got, level) {
				t.Errorf("field %q = %q, want it to start with %q; embed %q %q %q", typ, got, level, e.Title, e.Description, fieldMap(e))
			}
			if ps := f.env.Protections(t, title); ps["create"].Level != "sysop" {
				t.Errorf("wiki protections = %+v", ps)
			}
			// wikimod's own words are the language's catalogue's, not
			// English.
			want := f.in(t, tc.lang, i18n.M("wikimod-protect-changed-title", title))
			if english := f.in(t, "en", i18n.M("wikimod-protect-changed-title", title)); want == english || e.Title != want {
				t.Errorf("title %q, want %q (not the English %q)", e.Title, want, english)
			}
		})
	}
}

// TestNoticeChannelKeepsItsLanguage: the announcement of a result goes to
// the notice channel in the channel's configured language, while the
// person who asked gets theirs.
func TestNoticeChannelKeepsItsLanguage(t *testing.T) {
	spy := &langSpy{}
	f := newFixtureWith(t, testenv.Options{Languages: commands.LanguageConfig{
		Channels: map[string]string{commands.RouteKey(discord.PlatformName, notices): "tr"},
	}}, discord.ModeHTTP, spying(spy))
	title := testwait.Unique("Discord Notice Language ")
	_, token, body := slash(member("D-ADMIN"), "protect", opt("title", title), opt("create", "sysop"), opt("expiry", "1 day"))
	status, resp := f.post(t, inLocale(t, body, "zh-CN"))
	deferred(t, status, resp)

	mine := fieldMap(f.waitEdit(t, token))
	want := f.in(t, "zh-hans", commands.TypeName("create"))
	if !strings.HasPrefix(mine[want], f.in(t, "zh-hans", commands.LevelName("sysop"))) {
		t.Errorf("the requester's reply: field %q = %q (fields %q), want the wiki's Chinese", want, mine[want], mine)
	}
	ann := f.api.Wait(t, "the announcement", func(r discordtest.Request) bool {
		return r.Method == http.MethodPost && r.Path == "/api/v9/channels/"+notices+"/messages" && strings.Contains(string(r.Body), title)
	})
	var msg struct {
		Embeds []discordgo.MessageEmbed `json:"embeds"`
	}
	ann.JSON(t, &msg)
	if len(msg.Embeds) != 1 {
		t.Fatalf("announcement = %s", ann.Body)
	}
	theirs := fieldMap(msg.Embeds[0])
	want = f.in(t, "tr", commands.TypeName("create"))
	if level := f.in(t, "tr", commands.LevelName("sysop")); !strings.HasPrefix(theirs[want], level) || !strings.Contains(level, "Yalnızca hizmetlilere izin verilir") {
		t.Errorf("the notice channel's announcement: field %q = %q (fields %q), want the wiki's Turkish", want, theirs[want], theirs)
	}
	if by := f.in(t, "tr", i18n.M("wikimod-discord-by")); theirs[by] != "<@D-ADMIN>" {
		t.Errorf("announcement names %q as who asked (fields %q)", theirs[by], theirs)
	}
}

// registered is a command as Register sends it.
type registered struct {
	Name         string            `json:"name"`
	Description  string            `json:"description"`
	Descriptions map[string]string `json:"description_localizations"`
	Options      []struct {
		Name         string            `json:"name"`
		Description  string            `json:"description"`
		Descriptions map[string]string `json:"description_localizations"`
		Choices      []struct {
			Name  string            `json:"name"`
			Names map[string]string `json:"name_localizations"`
			Value string            `json:"value"`
		} `json:"choices"`
	} `json:"options"`
}

// register registers the commands of f's service with words and returns
// them as the stand-in received them.
func register(t *testing.T, f *fixture, words discord.Words) map[string]registered {
	t.Helper()
	site, err := f.env.Bot.SiteInfo(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	cmds := discord.ApplicationCommands(f.env.Service.Specs(), site.Restrictions, f.env.Service.Wikis(), words)
	if _, err := discord.Register(context.Background(), discord.RegisterConfig{ApplicationID: appID, BotToken: "reg-token", GuildID: guildID, APIURL: f.api.URL}, cmds); err != nil {
		t.Fatal(err)
	}
	reqs := f.api.Requests()
	var sent []registered
	reqs[len(reqs)-1].JSON(t, &sent)
	out := map[string]registered{}
	for _, c := range sent {
		out[c.Name] = c
	}
	return out
}

// TestRegistrationIsLocalized: commands are registered with their names as
// typed and their descriptions in English, with a localization for each
// Discord locale of every other language the catalogue has; the level
// choices are the wiki's words in each language. The catalogue here is
// the shipped English and a stand-in language, every message marked.
func TestRegistrationIsLocalized(t *testing.T) {
	f := newFixture(t, discord.ModeHTTP)
	ctx := context.Background()
	en, err := os.ReadFile("../../i18n/en.json")
	if err != nil {
		t.Fatal(err)
	}
	var msgs map[string]any
	if err := json.Unmarshal(en, &msgs); err != nil {
		t.Fatal(err)
	}
	for k, v := range msgs {
		if s, ok := v.(string); ok {
			msgs[k] = "⟪" + s + "⟫"
		}
	}
	tr, _ := json.Marshal(msgs)
	cat, err := i18n.Load(fstest.MapFS{"en.json": {Data: en}, "tr.json": {Data: tr}})
	if err != nil {
		t.Fatal(err)
	}
	wiki, _ := f.env.Service.Wiki(commands.DefaultWiki)
	english, turkish := f.env.Service.Localizer(ctx, wiki, "en"), f.env.Service.Localizer(ctx, wiki, "tr")
	english.Cat, turkish.Cat = cat, cat

	cmds := register(t, f, discord.Words{English: english, Others: []i18n.Localizer{turkish}})
	protect := cmds["protect"]
	if protect.Description == "" || strings.Contains(protect.Description, "⟪") || protect.Descriptions["tr"] != "⟪"+protect.Description+"⟫" || len(protect.Descriptions) != 1 {
		t.Errorf("/protect: description %q, localizations %q", protect.Description, protect.Descriptions)
	}
	for name, c := range cmds {
		if c.Descriptions["tr"] == "" {
			t.Errorf("/%s has no Turkish description: %q", name, c.Descriptions)
		}
		for _, o := range c.Options {
			if o.Name == "" || strings.Contains(o.Name, "⟪") || o.Descriptions["tr"] == "" || strings.Contains(o.Description, "⟪") {
				t.Errorf("/%s option %s: description %q, localizations %q", name, o.Name, o.Description, o.Descriptions)
			}
		}
	}
	var edit []string
	for _, o := range protect.Options {
		if o.Name != "edit" {
			continue
		}
		for _, c := range o.Choices {
			edit = append(edit, c.Value+"="+c.Name+"|"+c.Names["tr"])
		}
	}
	word := func(lang, level string) string { return wikiWord(t, f.env.Bot, lang, mw.LevelMessage(level)) }
	want := []string{
		"autoconfirmed=" + word("en", "autoconfirmed") + " (autoconfirmed)|⟪" + word("tr", "autoconfirmed") + " (autoconfirmed)⟫",
		"sysop=Allow only administrators (sysop)|⟪Yalnızca hizmetlilere izin verilir (sysop)⟫",
		"all=" + word("en", "") + " (all)|⟪" + word("tr", "") + " (all)⟫",
	}
	if strings.Join(edit, "\n") != strings.Join(want, "\n") {
		t.Errorf("the edit level's choices, value=English|Turkish:\n%s\nwant\n%s", strings.Join(edit, "\n"), strings.Join(want, "\n"))
	}
}

// TestRegistrationInTheShippedLanguages: with the catalogues wikimod
// ships, every command carries a description for each Discord locale of
// each language other than English (zh-CN for zh-hans, zh-TW for zh-hant,
// tr for tr).
func TestRegistrationInTheShippedLanguages(t *testing.T) {
	f := newFixture(t, discord.ModeHTTP)
	ctx := context.Background()
	wiki, _ := f.env.Service.Wiki(commands.DefaultWiki)
	words := discord.Words{English: f.env.Service.Localizer(ctx, wiki, "en")}
	var locales []string
	for _, lang := range i18n.Default().Languages() {
		if lang != "en" && len(i18n.DiscordLocales(lang)) > 0 {
			words.Others = append(words.Others, f.env.Service.Localizer(ctx, wiki, lang))
			locales = append(locales, i18n.DiscordLocales(lang)...)
		}
	}
	for name, c := range register(t, f, words) {
		for _, loc := range locales {
			if c.Descriptions[loc] == "" {
				t.Errorf("/%s has no description for %s: %q", name, loc, c.Descriptions)
			}
		}
		if len(c.Descriptions) != len(locales) {
			t.Errorf("/%s has descriptions for %d locales, want %d (%v): %q", name, len(c.Descriptions), len(locales), locales, c.Descriptions)
		}
	}
}
