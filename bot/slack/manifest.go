package slack

import (
	"fmt"
	"strings"

	"github.com/wikimod/wikimod/commands"
	"github.com/wikimod/wikimod/i18n"
)

// The paths Mount serves in HTTP mode, which the manifest names.
const (
	CommandsPath     = "/slack/commands"
	InteractionsPath = "/slack/interactions"
)

// manifestHost is the host name the checked-in manifest (docs/) carries, for
// operators to replace with their own.
const manifestHost = "wikimod.example.org"

// Manifest returns the Slack app manifest (YAML) for specs, wikimod's
// commands: a slash command for each command people type (buttons'
// commands are left out; /help is helpCommand, since Slack keeps /help),
// with its summary (in English) and usage, all sent to host's
// /slack/commands; and the interactivity URL, the scopes the adapter uses
// (users:read for each person's language, usergroups:read for [[access]]
// slack_usergroups), and Socket Mode off.
// docs/slack-manifest.yml is its output for wikimod's default commands
// (`wikimod slack manifest`); a test holds the two together.
func Manifest(specs []commands.Spec, host string) string {
	if host == "" {
		host = manifestHost
	}
	var b strings.Builder
	b.WriteString(`# Slack app manifest for wikimod, made by "wikimod slack manifest" from the
# commands themselves. Create the app at https://api.slack.com/apps
# ("Create New App" > "From an app manifest"), pick the workspace, and paste
# this file. docs/slack.md walks through it.
#
# HTTP mode (the default below): replace ` + host + ` with the public
# HTTPS address that reaches wikimod's [http] listen address (or make the
# file with "wikimod slack manifest -host YOUR-HOST").
#
# Socket Mode (no public URL): set socket_mode_enabled to true and delete
# every "url:" and "request_url:" line; Slack then sends everything over the
# connection wikimod opens with the app-level token.
display_information:
  name: wikimod
  description: Run MediaWiki moderation (protect, passwords, accounts) from Slack.
  background_color: "#36648b"
features:
  bot_user:
    display_name: wikimod
    always_online: true
  slash_commands:
`)
	for _, sp := range specs {
		if sp.ButtonOnly {
			continue
		}
		name := "/" + sp.Name
		if name == "/help" {
			name = helpCommand
		}
		fmt.Fprintf(&b, "    - command: %s\n", name)
		fmt.Fprintf(&b, "      url: https://%s%s\n", host, CommandsPath)
		fmt.Fprintf(&b, "      description: %s\n", yamlString(truncate(i18n.Localizer{Lang: "en"}.Text(sp.Summary), 100)))
		if hint := usageHint(sp); hint != "" {
			fmt.Fprintf(&b, "      usage_hint: %s\n", yamlString(truncate(hint, 1000)))
		}
		b.WriteString("      should_escape: false\n")
	}
	fmt.Fprintf(&b, `oauth_config:
  scopes:
    bot:
      - commands
      - chat:write
      - usergroups:read
      - users:read
settings:
  interactivity:
    is_enabled: true
    request_url: https://%s%s
  org_deploy_enabled: false
  socket_mode_enabled: false
  token_rotation_enabled: false
`, host, InteractionsPath)
	return b.String()
}

// usageHint is a spec's usage without the command's name: what Slack shows
// as it is typed.
func usageHint(sp commands.Spec) string {
	hint := strings.TrimSpace(strings.TrimPrefix(sp.Usage, "/"+sp.Name))
	return strings.ReplaceAll(hint, "/"+sp.Name+" ", "")
}

// yamlString quotes s as a YAML double-quoted scalar, whose escapes are
// JSON's.
func yamlString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20:
			fmt.Fprintf(&b, "\\u%04x", r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
