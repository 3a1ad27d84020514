package discord

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"
)

// rewriteTransport sends requests meant for Discord's API to another base
// URL (a proxy, or a test server), keeping the path. discordgo builds its
// endpoint URLs once, at start-up, from the discord.com address, so
// rewriting requests on their way out is the reliable way to redirect them.
type rewriteTransport struct {
	base   http.RoundTripper
	target *url.URL
}

// NewRewriteTransport returns a RoundTripper that sends requests for
// discord.com to apiURL's scheme and host (and path prefix, if it has one),
// through base (nil means http.DefaultTransport). Requests for other hosts
// pass through unchanged.
func NewRewriteTransport(apiURL string, base http.RoundTripper) (http.RoundTripper, error) {
	u, err := url.Parse(apiURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("discord: api_url %q is not an http:// or https:// address", apiURL)
	}
	if base == nil {
		base = http.DefaultTransport
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	return &rewriteTransport{base: base, target: u}, nil
}

func (t *rewriteTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if !isDiscordHost(r.URL.Hostname()) {
		return t.base.RoundTrip(r)
	}
	out := r.Clone(r.Context())
	u := *r.URL
	u.Scheme, u.Host = t.target.Scheme, t.target.Host
	if t.target.Path != "" {
		u.Path = t.target.Path + r.URL.Path
		if r.URL.RawPath != "" {
			u.RawPath = t.target.Path + r.URL.RawPath
		}
	}
	out.URL = &u
	out.Host = ""
	return t.base.RoundTrip(out)
}

func isDiscordHost(host string) bool {
	host = strings.ToLower(host)
	return host == "discord.com" || strings.HasSuffix(host, ".discord.com")
}

// newSession returns a discordgo session for REST calls (and the gateway),
// with its HTTP client reaching apiURL when that is set.
func newSession(token, apiURL string, client *http.Client) (*discordgo.Session, error) {
	auth := ""
	if token != "" {
		auth = "Bot " + strings.TrimPrefix(token, "Bot ")
	}
	s, err := discordgo.New(auth)
	if err != nil {
		return nil, fmt.Errorf("discord: session: %w", err)
	}
	hc := &http.Client{Timeout: 20 * time.Second}
	if client != nil {
		c := *client
		hc = &c
	}
	if apiURL != "" {
		rt, err := NewRewriteTransport(apiURL, hc.Transport)
		if err != nil {
			return nil, err
		}
		hc.Transport = rt
	}
	s.Client = hc
	s.StateEnabled = false
	s.Identify.Intents = discordgo.IntentsNone
	s.UserAgent = "DiscordBot (https://github.com/wikimod/wikimod, 1) wikimod"
	return s, nil
}

// scrub removes the request address from an error: the address of a
// webhook or interaction callback carries the interaction's token, which
// lets anyone who has it reply as the application for 15 minutes.
func scrub(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		u, perr := url.Parse(ue.URL)
		where := "discord"
		if perr == nil {
			where = u.Host + redactPath(u.Path)
		}
		return fmt.Errorf("%s %s: %w", strings.ToLower(ue.Op), where, ue.Err)
	}
	return err
}

// redactPath hides the token segment of webhook and interaction paths.
func redactPath(p string) string {
	parts := strings.Split(p, "/")
	for i := range parts {
		if i > 0 && (parts[i-1] == "interactions" || parts[i-1] == "webhooks") && i+1 < len(parts) {
			parts[i+1] = "[token]"
		}
	}
	return strings.Join(parts, "/")
}
