package mw

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// SiteInfo is what the wiki says about itself that wikimod needs.
type SiteInfo struct {
	Name         string // site name
	Generator    string // e.g. "MediaWiki 1.39.17"
	Server       string // e.g. "https://wiki.example.org"
	ArticlePath  string // e.g. "/wiki/$1"
	Restrictions Restrictions
	// GroupRights maps each user group to the rights it grants.
	GroupRights map[string][]string
	// Lang is the wiki's content language, a MediaWiki language code
	// ("en", "zh-hans"): the language its pages and logs are written in,
	// and the one to write to the wiki in.
	Lang string
	// Fallback is the content language's fallback chain, nearest first
	// (for zh-hans: zh-cn, zh, zh-hant, en): the languages MediaWiki takes
	// a message from when Lang has no translation of it.
	Fallback []string
	// TimeZone is the wiki's time zone ($wgLocaltimezone, e.g. "UTC",
	// "Europe/Istanbul"), and TimeOffset its offset from UTC in minutes
	// when the site information was read.
	TimeZone   string
	TimeOffset int
}

// Location returns the wiki's time zone, to show times as the wiki does.
// Where this machine's time zone database lacks the wiki's zone, it is a
// fixed zone at the offset the wiki reported.
func (s *SiteInfo) Location() *time.Location {
	if s.TimeZone != "" {
		if loc, err := time.LoadLocation(s.TimeZone); err == nil {
			return loc
		}
	}
	name := s.TimeZone
	if name == "" {
		name = "UTC"
	}
	return time.FixedZone(name, s.TimeOffset*60)
}

// Restrictions are the protection types and levels the wiki offers.
type Restrictions struct {
	Types           []string `json:"types"`           // create, edit, move, upload
	Levels          []string `json:"levels"`          // "", autoconfirmed, sysop
	CascadingLevels []string `json:"cascadinglevels"` // levels that allow cascade
}

// PageURL returns the address of a page on the wiki.
func (s *SiteInfo) PageURL(title string) string {
	t := url.PathEscape(strings.ReplaceAll(title, " ", "_"))
	t = pathUnescaper.Replace(t)
	return s.Server + strings.Replace(s.ArticlePath, "$1", t, 1)
}

// pathUnescaper keeps / and : readable in page addresses, as the wiki does.
var pathUnescaper = strings.NewReplacer("%2F", "/", "%3A", ":")

// SiteInfo returns the wiki's site information, cached for Config.SiteInfoTTL.
func (c *Client) SiteInfo(ctx context.Context) (*SiteInfo, error) {
	c.siteMu.Lock()
	defer c.siteMu.Unlock()
	if c.site != nil && c.now().Sub(c.siteAt) < c.cfg.SiteInfoTTL {
		return c.site, nil
	}
	var res struct {
		Query struct {
			General struct {
				SiteName    string `json:"sitename"`
				Generator   string `json:"generator"`
				Server      string `json:"server"`
				ArticlePath string `json:"articlepath"`
				Lang        string `json:"lang"`
				Fallback    []struct {
					Code string `json:"code"`
				} `json:"fallback"`
				TimeZone   string `json:"timezone"`
				TimeOffset int    `json:"timeoffset"`
			} `json:"general"`
			Restrictions Restrictions `json:"restrictions"`
			UserGroups   []struct {
				Name   string   `json:"name"`
				Rights []string `json:"rights"`
			} `json:"usergroups"`
		} `json:"query"`
	}
	if _, err := c.Get(ctx, url.Values{
		"action": {"query"}, "meta": {"siteinfo"}, "siprop": {"general|restrictions|usergroups"},
	}, &res); err != nil {
		return nil, fmt.Errorf("siteinfo: %w", err)
	}
	q := res.Query
	si := &SiteInfo{
		Name:         q.General.SiteName,
		Generator:    q.General.Generator,
		Server:       q.General.Server,
		ArticlePath:  q.General.ArticlePath,
		Restrictions: q.Restrictions,
		GroupRights:  make(map[string][]string, len(q.UserGroups)),
		Lang:         q.General.Lang,
		TimeZone:     q.General.TimeZone,
		TimeOffset:   q.General.TimeOffset,
	}
	for _, f := range q.General.Fallback {
		si.Fallback = append(si.Fallback, f.Code)
	}
	for _, g := range q.UserGroups {
		si.GroupRights[g.Name] = g.Rights
	}
	c.site, c.siteAt = si, c.now()
	return si, nil
}

// SessionUser is the session's own account as the wiki reports it. Under a
// bot password the rights are cut down to the bot password's grants. (What
// the wiki says about any other account is a UserInfo, from Client.User.)
type SessionUser struct {
	Name   string   `json:"name"`
	Groups []string `json:"groups"`
	Rights []string `json:"rights"`
}

// UserInfo returns the session's account, groups and effective rights.
func (c *Client) UserInfo(ctx context.Context) (*SessionUser, error) {
	var res struct {
		Query struct {
			UserInfo SessionUser `json:"userinfo"`
		} `json:"query"`
	}
	if _, err := c.Get(ctx, url.Values{
		"action": {"query"}, "meta": {"userinfo"}, "uiprop": {"groups|rights"},
	}, &res); err != nil {
		return nil, fmt.Errorf("userinfo: %w", err)
	}
	return &res.Query.UserInfo, nil
}

// Protection is one protection to apply: an action (edit, move, create,
// upload) and a level ("" or "all" lifts it).
type Protection struct {
	Action string
	Level  string
}

// ProtectParams are the parameters of action=protect.
type ProtectParams struct {
	Title       string // the page; or PageID
	PageID      int
	Protections []Protection
	// Expiry holds one expiry for all protections or one per protection, in
	// any form the wiki reads ("infinite", "1 week", "2026-12-01T00:00:00Z").
	// Empty means infinite.
	Expiry          []string
	Reason          string
	Cascade         bool
	Tags            []string
	Watchlist       string // watch, unwatch, preferences, nochange
	WatchlistExpiry string
}

// ProtectResult is the wiki's answer to action=protect.
type ProtectResult struct {
	Title       string             `json:"title"`
	Reason      string             `json:"reason"`
	Cascade     bool               `json:"cascade"`
	Protections []ProtectionResult `json:"protections"`
	Warnings    []Message          `json:"warnings,omitempty"`
}

// ProtectionResult is one protection as the wiki applied it. Expiry is an
// absolute time ("2026-11-28T15:24:36Z") or "infinite".
type ProtectionResult struct {
	Action string `json:"action"`
	Level  string `json:"level"`
	Expiry string `json:"expiry"`
}

// Protect applies protections to a page.
func (c *Client) Protect(ctx context.Context, p ProtectParams) (*ProtectResult, error) {
	v := url.Values{"action": {"protect"}}
	if p.PageID != 0 {
		v.Set("pageid", strconv.Itoa(p.PageID))
	} else {
		v.Set("title", p.Title)
	}
	var prots strings.Builder
	for i, pr := range p.Protections {
		if i > 0 {
			prots.WriteByte('|')
		}
		prots.WriteString(pr.Action)
		prots.WriteByte('=')
		prots.WriteString(pr.Level)
	}
	v.Set("protections", prots.String())
	if len(p.Expiry) > 0 {
		v.Set("expiry", strings.Join(p.Expiry, "|"))
	}
	setIf(v, "reason", p.Reason)
	if p.Cascade {
		v.Set("cascade", "1")
	}
	setIf(v, "tags", strings.Join(p.Tags, "|"))
	setIf(v, "watchlist", p.Watchlist)
	setIf(v, "watchlistexpiry", p.WatchlistExpiry)

	var res struct {
		Protect struct {
			Title       string              `json:"title"`
			Reason      string              `json:"reason"`
			Cascade     bool                `json:"cascade"`
			Protections []map[string]string `json:"protections"`
		} `json:"protect"`
	}
	warnings, err := c.Post(ctx, "csrf", v, &res)
	if err != nil {
		return nil, err
	}
	out := &ProtectResult{
		Title:    res.Protect.Title,
		Reason:   res.Protect.Reason,
		Cascade:  res.Protect.Cascade,
		Warnings: warnings,
	}
	// Each protection comes as {"<action>": "<level>", "expiry": "..."}.
	for _, m := range res.Protect.Protections {
		var pr ProtectionResult
		for k, val := range m {
			if k == "expiry" {
				pr.Expiry = val
			} else {
				pr.Action, pr.Level = k, val
			}
		}
		out.Protections = append(out.Protections, pr)
	}
	return out, nil
}

// PageProtection is a protection currently in force on a page, as
// prop=info&inprop=protection reports it. Expiry is absolute or "infinity".
type PageProtection struct {
	Type    string `json:"type"`
	Level   string `json:"level"`
	Expiry  string `json:"expiry"`
	Cascade bool   `json:"cascade"`
	// Source names the page whose cascading protection this is, for a
	// protection the page inherits rather than holds itself.
	Source string `json:"source,omitempty"`
}

// PageProtections returns the protections in force on a page. A missing page
// may still carry create protection.
func (c *Client) PageProtections(ctx context.Context, title string) ([]PageProtection, error) {
	var res struct {
		Query struct {
			Pages []struct {
				Protection []PageProtection `json:"protection"`
			} `json:"pages"`
		} `json:"query"`
	}
	if _, err := c.Get(ctx, url.Values{
		"action": {"query"}, "prop": {"info"}, "inprop": {"protection"}, "titles": {title},
	}, &res); err != nil {
		return nil, fmt.Errorf("protections of %q: %w", title, err)
	}
	if len(res.Query.Pages) == 0 {
		return nil, nil
	}
	return res.Query.Pages[0].Protection, nil
}

// ValidatePasswordParams are the parameters of action=validatepassword.
type ValidatePasswordParams struct {
	Password string
	User     string // a name not yet taken, to check as for a new account
	Email    string
	RealName string
}

// Validity is the wiki's verdict on a password: Good, Change (acceptable but
// should be changed) or Invalid, with the reasons.
type Validity struct {
	Validity string    `json:"validity"`
	Messages []Message `json:"validitymessages"`
}

// ValidatePassword asks the wiki whether a password meets its policy.
func (c *Client) ValidatePassword(ctx context.Context, p ValidatePasswordParams) (*Validity, error) {
	v := url.Values{"action": {"validatepassword"}, "password": {p.Password}}
	setIf(v, "user", p.User)
	setIf(v, "email", p.Email)
	setIf(v, "realname", p.RealName)
	var res struct {
		ValidatePassword Validity `json:"validatepassword"`
	}
	if _, err := c.Post(ctx, "", v, &res); err != nil {
		return nil, err
	}
	return &res.ValidatePassword, nil
}

// CreateAccountParams are the parameters of action=createaccount.
type CreateAccountParams struct {
	Username string
	Password string // empty with MailPassword
	Email    string
	RealName string
	Reason   string
	// MailPassword asks the wiki to email a random temporary password.
	MailPassword bool
	// ReturnURL is required by the API for redirect-based providers.
	ReturnURL string
	// Continue continues an earlier UI response with Fields filled in.
	Continue bool
	// Fields holds any further fields a UI response asked for.
	Fields map[string]string
}

// CreateAccountResult is the answer of action=createaccount. Status is PASS,
// FAIL, UI, REDIRECT or RESTART.
type CreateAccountResult struct {
	Status         string `json:"status"`
	Username       string `json:"username"`
	Message        string `json:"message"`
	MessageCode    string `json:"messagecode"`
	RedirectTarget string `json:"redirecttarget"`
	// Requests lists what a UI or REDIRECT status needs next.
	Requests []AuthRequest `json:"requests"`
}

// AuthRequest describes one authentication request a UI status asks for.
type AuthRequest struct {
	ID     string                      `json:"id"`
	Fields map[string]AuthRequestField `json:"fields"`
}

// AuthRequestField is one field of an AuthRequest.
type AuthRequestField struct {
	Type     string `json:"type"`
	Label    string `json:"label"`
	Help     string `json:"help"`
	Optional bool   `json:"optional"`
}

// CreateAccount creates an account.
func (c *Client) CreateAccount(ctx context.Context, p CreateAccountParams) (*CreateAccountResult, error) {
	v := url.Values{"action": {"createaccount"}, "username": {p.Username}}
	if p.MailPassword {
		v.Set("mailpassword", "1")
	} else {
		v.Set("password", p.Password)
		v.Set("retype", p.Password)
	}
	// MediaWiki reads email and realname as one request: unless both keys are
	// present it ignores the email (and mailpassword then fails with
	// noemailcreate), so both are always sent, empty or not.
	v.Set("email", p.Email)
	v.Set("realname", p.RealName)
	setIf(v, "reason", p.Reason)
	for k, val := range p.Fields {
		v.Set(k, val)
	}
	if p.Continue {
		v.Set("createcontinue", "1")
	} else {
		ret := p.ReturnURL
		if ret == "" {
			ret = "http://localhost/"
		}
		v.Set("createreturnurl", ret)
	}
	var res struct {
		CreateAccount CreateAccountResult `json:"createaccount"`
	}
	if _, err := c.Post(ctx, "createaccount", v, &res); err != nil {
		return nil, err
	}
	return &res.CreateAccount, nil
}

// ResetPasswordParams are the parameters of action=resetpassword: exactly one
// of User and Email.
type ResetPasswordParams struct {
	User  string
	Email string
}

// ResetPassword asks the wiki to email a password reset. The wiki answers
// success even where it sends nothing, so as not to reveal accounts.
func (c *Client) ResetPassword(ctx context.Context, p ResetPasswordParams) ([]Message, error) {
	v := url.Values{"action": {"resetpassword"}}
	setIf(v, "user", p.User)
	setIf(v, "email", p.Email)
	var res struct {
		ResetPassword struct {
			Status string `json:"status"`
		} `json:"resetpassword"`
	}
	warnings, err := c.Post(ctx, "csrf", v, &res)
	if err != nil {
		return warnings, err
	}
	if res.ResetPassword.Status != "success" {
		return warnings, fmt.Errorf("resetpassword: unexpected status %q", res.ResetPassword.Status)
	}
	return warnings, nil
}

// UserGroups returns the groups of each named user that exists; missing
// users are absent from the map.
func (c *Client) UserGroups(ctx context.Context, names ...string) (map[string][]string, error) {
	var res struct {
		Query struct {
			Users []struct {
				Name    string   `json:"name"`
				Missing bool     `json:"missing"`
				Groups  []string `json:"groups"`
			} `json:"users"`
		} `json:"query"`
	}
	if _, err := c.Get(ctx, url.Values{
		"action": {"query"}, "list": {"users"}, "ususers": {strings.Join(names, "|")}, "usprop": {"groups"},
	}, &res); err != nil {
		return nil, fmt.Errorf("users: %w", err)
	}
	out := make(map[string][]string, len(res.Query.Users))
	for _, u := range res.Query.Users {
		if !u.Missing {
			out[u.Name] = u.Groups
		}
	}
	return out, nil
}

func setIf(v url.Values, key, val string) {
	if val != "" {
		v.Set(key, val)
	}
}

// PrefixSearch returns up to limit page titles that start with prefix, as the
// wiki's search box suggests them (list=prefixsearch).
func (c *Client) PrefixSearch(ctx context.Context, prefix string, limit int) ([]string, error) {
	var res struct {
		Query struct {
			PrefixSearch []struct {
				Title string `json:"title"`
			} `json:"prefixsearch"`
		} `json:"query"`
	}
	if _, err := c.Get(ctx, url.Values{
		"action": {"query"}, "list": {"prefixsearch"}, "pssearch": {prefix}, "pslimit": {strconv.Itoa(limit)},
	}, &res); err != nil {
		return nil, fmt.Errorf("prefixsearch %q: %w", prefix, err)
	}
	out := make([]string, len(res.Query.PrefixSearch))
	for i, p := range res.Query.PrefixSearch {
		out[i] = p.Title
	}
	return out, nil
}

// Page returns one page's protection state, by title or, when pageID is not
// zero, by page id. A page id that names no page comes back Missing.
func (c *Client) Page(ctx context.Context, title string, pageID int) (PageState, error) {
	if pageID == 0 {
		// PageStates for one title, without the map.
		st := PageState{Title: title, Missing: true}
		if err := c.pageStates(ctx, []string{title}, func(_ string, found PageState) { st = found }); err != nil {
			return PageState{}, err
		}
		return st, nil
	}
	var res struct {
		Query struct {
			Pages []struct {
				Title      string           `json:"title"`
				NS         int              `json:"ns"`
				Missing    bool             `json:"missing"`
				Protection []PageProtection `json:"protection"`
			} `json:"pages"`
		} `json:"query"`
	}
	if _, err := c.Get(ctx, url.Values{
		"action": {"query"}, "prop": {"info"}, "inprop": {"protection"}, "pageids": {strconv.Itoa(pageID)},
	}, &res); err != nil {
		return PageState{}, fmt.Errorf("page %d: %w", pageID, err)
	}
	if len(res.Query.Pages) == 0 || res.Query.Pages[0].Missing {
		return PageState{Missing: true}, nil
	}
	p := res.Query.Pages[0]
	st := PageState{Title: p.Title, NS: p.NS}
	for _, pr := range p.Protection {
		if pr.Source != "" {
			// Another page's cascading protection: the page inherits it,
			// and who may edit the page depends on it.
			st.Inherited = append(st.Inherited, InheritedProtection{Type: pr.Type, Level: pr.Level, Expiry: pr.Expiry, Source: pr.Source})
			continue
		}
		st.Protections = append(st.Protections, pr)
	}
	return st, nil
}
