package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestCheckedInManifestIsWhatTheBinaryPrints: docs/slack-manifest.yml, the
// app manifest operators install, is exactly what `wikimod slack manifest`
// prints for a config with wikimod's defaults (linking, reminders,
// alerts, people's own languages), so that every command the bot serves
// is one Slack lets its users type. (Without this, /language was served
// but missing from the file.)
func TestCheckedInManifestIsWhatTheBinaryPrints(t *testing.T) {
	want, err := os.ReadFile("../../docs/slack-manifest.yml")
	if err != nil {
		t.Fatal(err)
	}
	config := filepath.Join(t.TempDir(), "wikimod.toml")
	if err := os.WriteFile(config, []byte(`[wiki]
api_url = "http://127.0.0.1:1/api.php"
bot_user = "Bot@wikimod"
bot_password = "not-used-here"

[slack]
signing_secret = "not-used-here"
bot_token = "xoxb-not-used-here"
`), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if code := Main([]string{"slack", "manifest", "-config", config}, nil, &out, &errOut); code != 0 {
		t.Fatalf("wikimod slack manifest: exit %d: %s", code, errOut.String())
	}
	if out.String() != string(want) {
		t.Errorf("docs/slack-manifest.yml is not what wikimod slack manifest prints; regenerate it. It should read:\n%s", out.String())
	}
}
