package devwiki

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"
)

// The helpers here make the trouble wikimod's edit-war and vandalism alerts
// look for, as it happens on a real wiki: accounts that edit and revert one
// another (MediaWiki tags the reverts itself: mw-rollback, mw-undo,
// mw-manual-revert on the reverting edit, mw-reverted on the edits undone),
// and AbuseFilter, which ships with Debian's mediawiki package (1.39 and
// 1.43), with filters that log their hits (list=abuselog).

// abuseFilterSettings loads AbuseFilter. It is appended to
// LocalSettings.php once; EnableAbuseFilter looks for it there.
const abuseFilterSettings = "\n# Added by devwiki's EnableAbuseFilter.\nwfLoadExtension( 'AbuseFilter' );\n"

// EnableAbuseFilter loads the AbuseFilter extension on the running wiki
// and creates its tables (update.php), as an operator enabling it would.
// The server reads LocalSettings.php on every request, so it takes effect
// at once. Enabling it twice does nothing more.
func (w *Wiki) EnableAbuseFilter(ctx context.Context) error {
	conf, err := os.ReadFile(w.conf)
	if err != nil {
		return err
	}
	if strings.Contains(string(conf), abuseFilterSettings) {
		return nil
	}
	if err := w.appendSettings(abuseFilterSettings); err != nil {
		return err
	}
	if _, err := w.php(ctx, "update", "--quick", "--skip-config-validation"); err != nil {
		return fmt.Errorf("enable AbuseFilter: %w", err)
	}
	return nil
}

// AddAbuseFilter adds an enabled, public AbuseFilter filter that takes no
// action but logs its hits, with the given description and rule in
// AbuseFilter's own language (`page_title == "X" & added_lines irlike
// "spam"`), and returns its id. It writes the filter's row as
// Special:AbuseFilter would, through the wiki's sql maintenance script, as
// Admin. AbuseFilter must be enabled (EnableAbuseFilter).
func (w *Wiki) AddAbuseFilter(ctx context.Context, description, rule string) (int, error) {
	quote := func(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
	// The filter's author: AbuseFilter of 1.39 keeps a user id and name,
	// that of 1.43 an actor.
	cols, err := w.sql(ctx, "SELECT name FROM pragma_table_info('abuse_filter');")
	if err != nil {
		return 0, fmt.Errorf("add abuse filter %q: %w: %s", description, err, cols)
	}
	author := map[string]string{"af_user": "(SELECT user_id FROM user WHERE user_name = 'Admin')", "af_user_text": quote("Admin")}
	if strings.Contains(cols, `"af_actor"`) {
		author = map[string]string{"af_actor": "(SELECT actor_id FROM actor WHERE actor_name = 'Admin')"}
	}
	values := map[string]string{
		"af_pattern": quote(rule), "af_timestamp": quote(time.Now().UTC().Format("20060102150405")), "af_enabled": "1",
		"af_comments": quote(""), "af_public_comments": quote(description), "af_hidden": "0", "af_hit_count": "0",
		"af_throttled": "0", "af_deleted": "0", "af_actions": quote(""), "af_global": "0", "af_group": quote("default"),
	}
	maps.Copy(values, author)
	names := slices.Sorted(maps.Keys(values))
	row := make([]string, len(names))
	for i, n := range names {
		row[i] = values[n]
	}
	insert := "INSERT INTO abuse_filter (" + strings.Join(names, ", ") + ") VALUES (" + strings.Join(row, ", ") + ");"
	if out, err := w.sql(ctx, insert); err != nil {
		return 0, fmt.Errorf("add abuse filter %q: %w: %s", description, err, out)
	}
	out, err := w.sql(ctx, "SELECT MAX(af_id) AS id FROM abuse_filter;")
	if err != nil {
		return 0, fmt.Errorf("add abuse filter %q: %w: %s", description, err, out)
	}
	var id int
	for _, f := range strings.FieldsFunc(out, func(r rune) bool { return r < '0' || r > '9' }) {
		fmt.Sscan(f, &id)
	}
	if id == 0 {
		return 0, fmt.Errorf("add abuse filter %q: no id in %q", description, lastLines(out, 3))
	}
	return id, nil
}

// sql runs one SQL statement on the wiki's database with its sql
// maintenance script, results as JSON, and returns all it printed.
func (w *Wiki) sql(ctx context.Context, query string) (string, error) {
	cmd := w.rt.command(ctx, w.Dir, []string{"MW_CONFIG_FILE=" + w.inside(w.conf)}, append(w.rt.script("sql"), "--json", "--query", query)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// AllowAnonymousReading lets readers who are not logged in read the wiki,
// or (false) makes it a private wiki, as $wgGroupPermissions['*']['read']
// does, and returns once the wiki answers so (PHP may serve its settings
// from its cache for a moment). A test that makes a wiki private gives it
// back as it was when it ends.
func (w *Wiki) AllowAnonymousReading(ctx context.Context, allow bool) error {
	if err := w.appendSettings(fmt.Sprintf("$wgGroupPermissions['*']['read'] = %t;\n", allow)); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	client := &http.Client{Timeout: 5 * time.Second}
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, w.APIURL+"?action=query&list=recentchanges&rclimit=1&format=json", nil)
		if err != nil {
			return err
		}
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			if denied := resp.Header.Get("MediaWiki-API-Error") == "readapidenied"; denied != allow {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("devwiki: the wiki did not take anonymous reading = %t: %w", allow, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// RollbackAs rolls back the latest edits of reverted on title, logged in
// as user with their main password: user needs the rollback right (a
// sysop has it). MediaWiki tags the rollback mw-rollback and the edits it
// undid mw-reverted.
func (w *Wiki) RollbackAs(ctx context.Context, user, password, title, reverted string) error {
	a, err := w.LogIn(ctx, user, password)
	if err != nil {
		return err
	}
	return a.Rollback(ctx, title, reverted)
}

// Account is a login to the wiki as a person, with their main password,
// kept for several actions: an edit war of a test needs its edits and
// rollbacks to come within seconds.
type Account struct {
	name string
	s    *apiSession
}

// LogIn logs in to the wiki as user with their main password.
func (w *Wiki) LogIn(ctx context.Context, user, password string) (*Account, error) {
	s, err := w.login(ctx, user, password)
	if err != nil {
		return nil, err
	}
	return &Account{name: user, s: s}, nil
}

// Edit saves title with text as the account.
func (a *Account) Edit(ctx context.Context, title, text string) error {
	var res struct {
		Edit struct {
			Result string `json:"result"`
		} `json:"edit"`
	}
	if err := a.s.write(ctx, "csrf", url.Values{
		"action": {"edit"}, "title": {title}, "text": {text}, "summary": {"devwiki test"},
	}, &res); err != nil {
		return fmt.Errorf("edit %q as %s: %w", title, a.name, err)
	}
	if res.Edit.Result != "Success" {
		return fmt.Errorf("edit %q as %s: result %q", title, a.name, res.Edit.Result)
	}
	return nil
}

// Rollback rolls back the latest edits of reverted on title as the
// account, which needs the rollback right.
func (a *Account) Rollback(ctx context.Context, title, reverted string) error {
	if err := a.s.write(ctx, "rollback", url.Values{
		"action": {"rollback"}, "title": {title}, "user": {reverted}, "summary": {"devwiki test"},
	}, nil); err != nil {
		return fmt.Errorf("roll back %s on %q as %s: %w", reverted, title, a.name, err)
	}
	return nil
}
