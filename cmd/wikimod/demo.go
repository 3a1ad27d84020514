package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/wikimod/wikimod/internal/devwiki"
)

// demoBanner says what the demo started and how to look at it from another
// terminal: the MediaWiki release (the demo runs the one WIKIMOD_MEDIAWIKI
// selects), and the audit command spelled with the binary actually running,
// since wikimod is not on the PATH.
const demoBanner = `
wikimod demo: a throwaway MediaWiki %[5]s is running at %[1]s
  (%[6]s=%[7]s; set it to %[8]s for another release)
  wiki login:   Admin / %[2]s
  mail it sends goes to %[3]s
  config:       %[4]s
  audit log:    %[9]s audit -config %[4]s

You are the console user "admin", mapped to the wiki group sysop. Try:
  /help
  /protect "Main Page" edit=sysop move=sysop expiry="1 week" reason="demo"
  /protect "Sandbox" create=autoconfirmed expiry="2 hours"
  /validatepassword password="correct horse battery staple" user=Newcomer
  /createaccount username=Newcomer email=newcomer@example.test reason="demo"
  /resetpassword user=Alice
  /link user=Alice     then find "Your wikimod code:" in the mail file and /link code=CODE
  /whoami              linked to Alice, you hold her wiki rights, not the sysop mapping
  /unlink
Type quit or press Ctrl-D to stop; the wiki stops with it.

`

func cmdDemo(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("wikimod demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", ".demo", "directory for the throwaway wiki and the bot's database (emptied first)")
	port := fs.Int("port", 0, "port for the wiki (0 picks a free one)")
	langFlag := fs.String("lang", "", "the language the console answers in, a MediaWiki code such as tr or zh-hans (default: the one LC_ALL, LC_MESSAGES or LANG names)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	lang, err := consoleLanguage(*langFlag, os.Getenv)
	if err != nil {
		return err
	}
	abs, err := filepath.Abs(*dir)
	if err != nil {
		return err
	}
	if err := os.RemoveAll(abs); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "Installing a throwaway MediaWiki in", abs, "...")
	wiki, err := devwiki.Start(ctx, devwiki.Options{Dir: filepath.Join(abs, "wiki"), Port: *port})
	if err != nil {
		return fmt.Errorf("demo wiki: %w", err)
	}
	defer wiki.Close()
	if err := wiki.CreateUser(ctx, "Alice", "Alice-demo-password-1", "alice@example.test", false); err != nil {
		return fmt.Errorf("demo user: %w", err)
	}

	cfgPath := filepath.Join(abs, "wikimod.toml")
	cfgText := fmt.Sprintf(`# Written by "wikimod demo" for its throwaway wiki.
[wiki]
api_url = %q
bot_user = %q
bot_password = %q
contact = "demo@example.test"

[storage]
path = %q

[http]
listen = "127.0.0.1:0"

[[access]]
wiki_groups = ["sysop"]
console_users = ["admin"]

[[access]]
wiki_groups = ["autoconfirmed"]
console_users = ["helper"]
`, wiki.APIURL, wiki.BotUser, wiki.BotPassword, filepath.Join(abs, "wikimod.db"))
	if err := os.WriteFile(cfgPath, []byte(cfgText), 0o600); err != nil {
		return err
	}
	cfg, err := LoadConfig(cfgPath)
	if err != nil {
		return err
	}
	series, _ := devwiki.SelectedVersion()
	fmt.Fprintf(stdout, demoBanner, wiki.URL, devwiki.AdminPassword, wiki.MailFile, cfgPath,
		wiki.Version(), devwiki.VersionEnv, series, otherVersions(series), demoCommand())
	return runConsole(ctx, cfg, "admin", "", lang, true, stdin, stdout, stderr)
}

// otherVersions lists the MediaWiki releases the demo can run besides the
// one it runs, for the banner.
func otherVersions(running string) string {
	var others []string
	for _, v := range devwiki.Versions {
		if v != running {
			others = append(others, v)
		}
	}
	return strings.Join(others, " or ")
}

// demoCommand spells the command that runs this wikimod from another
// terminal: the binary's own path (scripts/demo.sh builds .demo-bin/wikimod),
// or "go run ./cmd/wikimod" when go run built it in a temporary folder that
// goes away with the demo.
func demoCommand() string {
	exe, err := os.Executable()
	if err != nil || strings.Contains(exe, string(filepath.Separator)+"go-build") {
		return "go run ./cmd/wikimod"
	}
	return exe
}
