package devwiki

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"time"
)

// The helpers here act on the wiki as a person would, each through a login
// of its own with an account's main password, so that tests can set up
// what the bot later finds: groups, blocks, pages saved by someone else.
// They do not touch the bot's session. MediaWiki 1.39 and 1.43 accept main
// passwords at action=login (with a deprecation warning).

// SetGroups adds user to the groups add and removes them from remove, as
// Admin (a bureaucrat) does on Special:UserRights. Groups the user is
// already in, or not in, are no error.
func (w *Wiki) SetGroups(ctx context.Context, user string, add, remove []string) error {
	s, err := w.login(ctx, "Admin", AdminPassword)
	if err != nil {
		return err
	}
	v := url.Values{"action": {"userrights"}, "user": {user}, "reason": {"devwiki test"}}
	if len(add) > 0 {
		v.Set("add", strings.Join(add, "|"))
	}
	if len(remove) > 0 {
		v.Set("remove", strings.Join(remove, "|"))
	}
	if err := s.write(ctx, "userrights", v, nil); err != nil {
		return fmt.Errorf("set groups of %s: %w", user, err)
	}
	return nil
}

// Block blocks user from the whole wiki with no end, as Admin. Blocking a
// blocked user again replaces the block, so a test can run twice.
func (w *Wiki) Block(ctx context.Context, user, reason string) error {
	return w.BlockWith(ctx, user, BlockOptions{Reason: reason})
}

// BlockOptions describe a block.
type BlockOptions struct {
	Reason string
	// Expiry is when the block ends, in any form action=block reads ("1
	// week", an ISO 8601 time). Empty means never.
	Expiry string
	// Pages, if any, make the block partial: the user may not edit these
	// pages and may still edit the rest of the wiki.
	Pages []string
}

// BlockWith blocks user as Admin, as o describes. Blocking a blocked user
// again replaces the block.
func (w *Wiki) BlockWith(ctx context.Context, user string, o BlockOptions) error {
	s, err := w.login(ctx, "Admin", AdminPassword)
	if err != nil {
		return err
	}
	v := url.Values{"action": {"block"}, "user": {user}, "reason": {o.Reason}, "expiry": {"infinite"}, "reblock": {"1"}}
	if o.Expiry != "" {
		v.Set("expiry", o.Expiry)
	}
	if len(o.Pages) > 0 {
		// A partial block must leave the user their own talk page.
		v.Set("partial", "1")
		v.Set("allowusertalk", "1")
		v.Set("pagerestrictions", strings.Join(o.Pages, "|"))
	}
	if err := s.write(ctx, "csrf", v, nil); err != nil {
		return fmt.Errorf("block %s: %w", user, err)
	}
	return nil
}

// Unblock lifts user's block, as Admin. A user who is not blocked is an
// error (cantunblock).
func (w *Wiki) Unblock(ctx context.Context, user string) error {
	s, err := w.login(ctx, "Admin", AdminPassword)
	if err != nil {
		return err
	}
	if err := s.write(ctx, "csrf", url.Values{"action": {"unblock"}, "user": {user}, "reason": {"devwiki test"}}, nil); err != nil {
		return fmt.Errorf("unblock %s: %w", user, err)
	}
	return nil
}

// EditAs saves title with text, logged in as user with their main
// password, so that the page's latest revision is theirs.
func (w *Wiki) EditAs(ctx context.Context, user, password, title, text string) error {
	s, err := w.login(ctx, user, password)
	if err != nil {
		return err
	}
	var res struct {
		Edit struct {
			Result string `json:"result"`
		} `json:"edit"`
	}
	if err := s.write(ctx, "csrf", url.Values{
		"action": {"edit"}, "title": {title}, "text": {text}, "summary": {"devwiki test"},
	}, &res); err != nil {
		return fmt.Errorf("edit %q as %s: %w", title, user, err)
	}
	if res.Edit.Result != "Success" {
		return fmt.Errorf("edit %q as %s: result %q", title, user, res.Edit.Result)
	}
	return nil
}

// ProtectAs sends action=protect logged in as user with their main
// password, as that person would on the wiki itself: protections is the
// API's own "edit=sysop|move=all" list and expiry its "|"-separated
// expiries. Tests compare what wikimod allows a person with what the wiki
// allows them. An error carries the wiki's error code.
func (w *Wiki) ProtectAs(ctx context.Context, user, password, title, protections, expiry string, cascade bool) error {
	s, err := w.login(ctx, user, password)
	if err != nil {
		return err
	}
	p := url.Values{"action": {"protect"}, "title": {title}, "protections": {protections}, "expiry": {expiry}, "reason": {"devwiki test"}}
	if cascade {
		p.Set("cascade", "1")
	}
	if err := s.write(ctx, "csrf", p, nil); err != nil {
		return fmt.Errorf("protect %q as %s: %w", title, user, err)
	}
	return nil
}

// SetPreference sets one of user's preferences (action=options), such as
// "language", logged in with their main password, as they would on
// Special:Preferences. Tests use it to give an account another language
// than the wiki's.
func (w *Wiki) SetPreference(ctx context.Context, user, password, name, value string) error {
	s, err := w.login(ctx, user, password)
	if err != nil {
		return err
	}
	if err := s.write(ctx, "csrf", url.Values{"action": {"options"}, "optionname": {name}, "optionvalue": {value}}, nil); err != nil {
		return fmt.Errorf("set %s's preference %s: %w", user, name, err)
	}
	return nil
}

// apiSession is one login to the wiki's API, with cookies of its own.
type apiSession struct {
	api    string
	client *http.Client
}

// login logs in to the wiki as user with their main password.
func (w *Wiki) login(ctx context.Context, user, password string) (*apiSession, error) {
	jar, err := cookiejar.New(nil)
	if err != nil {
		return nil, err
	}
	s := &apiSession{api: w.APIURL, client: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
	var tok struct {
		Query struct {
			Tokens map[string]string `json:"tokens"`
		} `json:"query"`
	}
	if err := s.call(ctx, http.MethodGet, url.Values{"action": {"query"}, "meta": {"tokens"}, "type": {"login"}}, &tok); err != nil {
		return nil, fmt.Errorf("login as %s: %w", user, err)
	}
	var res struct {
		Login struct {
			Result string `json:"result"`
			Reason struct {
				Text string `json:"text"`
			} `json:"reason"`
		} `json:"login"`
	}
	if err := s.call(ctx, http.MethodPost, url.Values{
		"action": {"login"}, "lgname": {user}, "lgpassword": {password}, "lgtoken": {tok.Query.Tokens["logintoken"]},
	}, &res); err != nil {
		return nil, fmt.Errorf("login as %s: %w", user, err)
	}
	if res.Login.Result != "Success" {
		return nil, fmt.Errorf("login as %s: %s %s", user, res.Login.Result, res.Login.Reason.Text)
	}
	return s, nil
}

// write sends a POST that needs a token of type tokenType and asserts the
// login, decoding the answer into out if it is not nil.
func (s *apiSession) write(ctx context.Context, tokenType string, params url.Values, out any) error {
	var tok struct {
		Query struct {
			Tokens map[string]string `json:"tokens"`
		} `json:"query"`
	}
	if err := s.call(ctx, http.MethodGet, url.Values{"action": {"query"}, "meta": {"tokens"}, "type": {tokenType}}, &tok); err != nil {
		return fmt.Errorf("%s token: %w", tokenType, err)
	}
	p := url.Values{}
	for k, v := range params {
		p[k] = v
	}
	p.Set("token", tok.Query.Tokens[tokenType+"token"])
	p.Set("assert", "user")
	return s.call(ctx, http.MethodPost, p, out)
}

// call sends one API request and decodes the answer, turning an API error
// into a Go error that carries its code.
func (s *apiSession) call(ctx context.Context, method string, params url.Values, out any) error {
	p := url.Values{"format": {"json"}, "formatversion": {"2"}, "errorformat": {"plaintext"}}
	for k, v := range params {
		p[k] = v
	}
	var req *http.Request
	var err error
	if method == http.MethodPost {
		req, err = http.NewRequestWithContext(ctx, method, s.api, strings.NewReader(p.Encode()))
		if req != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	} else {
		req, err = http.NewRequestWithContext(ctx, method, s.api+"?"+p.Encode(), nil)
	}
	if err != nil {
		return err
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var body json.RawMessage
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return fmt.Errorf("%s: HTTP %d, not API JSON: %w", params.Get("action"), resp.StatusCode, err)
	}
	var env struct {
		Errors []struct {
			Code string `json:"code"`
			Text string `json:"text"`
		} `json:"errors"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return err
	}
	if len(env.Errors) > 0 {
		return fmt.Errorf("%s: %s: %s", params.Get("action"), env.Errors[0].Code, env.Errors[0].Text)
	}
	if out != nil {
		return json.Unmarshal(body, out)
	}
	return nil
}
