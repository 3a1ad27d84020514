// Package devwiki installs and serves a throwaway MediaWiki from Debian's
// packages: SQLite database, PHP's built-in web server on a loopback port,
// outgoing mail captured to a file. The tests and the demo use it; it is not
// meant for production.
//
// It runs two release series, so that the suite can be run against the
// MediaWiki that wikis run today and the one they ran before: 1.43 LTS (the
// default) from Debian trixie, chrooted into a Debian root of its own that
// scripts/install-deps.sh builds once per machine (RootDir143), and 1.39
// from the machine's own Debian bookworm packages. VersionEnv picks one for
// a whole test run. Every wiki has its own folder and port, so the test
// binaries that go test runs in parallel each start their own.
package devwiki

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// AdminPassword is the password of the wiki's first account, Admin. It is a
// throwaway wiki's, on a loopback port.
const AdminPassword = "A-long-admin-pass!"

// AdminEmail is the address Admin gets at setup, so that the bot can send
// mail to wiki users (action=emailuser) from Admin's account.
const AdminEmail = "admin@example.test"

// Options configure a throwaway wiki. The zero value (with Dir set) gives a
// wiki of the selected release series on a free port.
type Options struct {
	// Dir holds the wiki's database, settings and mail. It is created.
	Dir string
	// Port is the loopback port to serve on; 0 picks a free one.
	Port int
	// Workers is the number of PHP server workers; 0 means 4.
	Workers int
	// BotApp and BotGrants name the bot password to create for Admin.
	// Empty means "wikimod" and the grants wikimod needs.
	BotApp    string
	BotGrants []string
	// ExtraSettings is PHP appended to LocalSettings.php.
	ExtraSettings string
	// MediaWiki is the release series to run, one of Versions. Empty means
	// the one VersionEnv selects (SelectedVersion), so that a whole test run
	// switches together; set it only where a test needs one series.
	MediaWiki string
	// Lang is the wiki's content language, a MediaWiki language code such
	// as "zh-hans" or "tr" (the installer's --lang). Empty means "en". Tests
	// of a wiki that speaks another language than English set it.
	Lang string
}

// DefaultGrants are the bot-password grants wikimod needs.
var DefaultGrants = []string{"basic", "protect", "createaccount", "createeditmovepage", "highvolume", "sendemail"}

// Wiki is a running throwaway wiki. Its paths are the machine's, also when
// PHP runs chrooted, so that tests can read the mail file and the database
// directly.
type Wiki struct {
	Dir         string
	URL         string // e.g. http://127.0.0.1:8181
	APIURL      string // URL + "/api.php"
	BotUser     string // e.g. "Admin@wikimod"
	BotPassword string
	MailFile    string // every mail the wiki sends is appended here
	// Lang is the wiki's content language ("en", "zh-hans") and MainPage
	// the title of its main page in that language ("Main Page", "首页"),
	// as the running wiki reports them.
	Lang     string
	MainPage string

	rt      runtime
	id      string // sent by this wiki in a header, to tell it from another on the same port
	version string // e.g. "1.43.9", as the running wiki reports it
	phpVer  string // e.g. "8.4.24", as the running wiki reports it
	conf    string
	cmd     *exec.Cmd
	done    chan struct{}
}

// Check reports why a throwaway wiki of the selected release series (see
// SelectedVersion) cannot be started on this machine, or nil.
func Check() error {
	series, err := SelectedVersion()
	if err != nil {
		return err
	}
	rt, err := runtimeFor(series)
	if err != nil {
		return err
	}
	return rt.check()
}

// idHeader carries each wiki's random id in every answer. PHP's server
// cannot take a socket already bound, so devwiki picks a free port and PHP
// binds it a moment later; if another test binary's wiki got there first,
// the header tells the two apart and Start moves to another port instead of
// letting tests talk to the wrong wiki.
const idHeader = "X-Devwiki-Id"

// errNotOurs means another server answered on the wiki's port.
var errNotOurs = errors.New("another server answers on the port")

// Start installs a wiki in opts.Dir and serves it. Close stops it.
func Start(ctx context.Context, opts Options) (*Wiki, error) {
	series := opts.MediaWiki
	if series == "" {
		var err error
		if series, err = SelectedVersion(); err != nil {
			return nil, err
		}
	}
	rt, err := runtimeFor(series)
	if err != nil {
		return nil, err
	}
	if err := rt.check(); err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, err
	}
	if opts.Workers == 0 {
		opts.Workers = 4
	}
	if opts.BotApp == "" {
		opts.BotApp = "wikimod"
	}
	if opts.Lang == "" {
		opts.Lang = "en"
	}
	if !langCodeRE.MatchString(opts.Lang) {
		return nil, fmt.Errorf("devwiki: Lang %q is not a MediaWiki language code such as \"en\" or \"zh-hans\"", opts.Lang)
	}
	if len(opts.BotGrants) == 0 {
		opts.BotGrants = DefaultGrants
	}
	id := make([]byte, 8)
	rand.Read(id)
	w := &Wiki{
		Dir:      dir,
		MailFile: filepath.Join(dir, "mail.txt"),
		rt:       rt,
		id:       hex.EncodeToString(id),
		conf:     filepath.Join(dir, "conf", "LocalSettings.php"),
	}
	// The installer needs an address; serve sets the real one once it has
	// a port.
	w.setPort(opts.Port)

	for _, d := range []string{"conf", "data", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return nil, err
		}
	}
	if _, err := w.php(ctx, "install", "--dbtype", "sqlite", "--dbpath", w.inside(filepath.Join(dir, "data")),
		"--dbname", "w", "--server", w.URL, "--scriptpath", "", "--confpath", w.inside(filepath.Join(dir, "conf")),
		"--lang", opts.Lang, "--pass", AdminPassword, "TestWiki", "Admin"); err != nil {
		return nil, fmt.Errorf("install: %w", err)
	}
	sendmail := filepath.Join(dir, "sendmail.sh")
	script := "#!/bin/sh\n# Captures the wiki's outgoing mail.\n{ cat; echo; } >> '" + w.inside(w.MailFile) + "'\n"
	if err := os.WriteFile(sendmail, []byte(script), 0o755); err != nil {
		return nil, err
	}
	settings := `
# Added by wikimod's devwiki: mail goes to a file, reset by email is allowed.
$wgEnableEmail = true;
$wgEnableUserEmail = true;
$wgEmailAuthentication = false;
$wgPasswordSender = "wiki@example.test";
$wgPasswordResetRoutes = [ 'username' => true, 'email' => true ];
# Tests send many resets from one address, and run more than once on the
# same wiki: the default mail throttle (5 an hour per IP) would silently
# swallow them. Wikis that test throttling set their own limits.
$wgRateLimits['mailpassword'] = [];
# Tests mail users through action=emailuser dozens of times a run, also from
# bot passwords without the highvolume grant: the default limit of 20 a day
# per account would answer ratelimited. 1.39 names the limit 'emailuser',
# 1.43 'sendemail'.
$wgRateLimits['emailuser'] = [];
$wgRateLimits['sendemail'] = [];
# A group that may protect pages and edit semi-protected ones, but not
# pages protected at the sysop level: what it may do to a page's protection
# is what tests hold wikimod's own rule to.
$wgGroupPermissions['semiprotector']['protect'] = true;
$wgGroupPermissions['semiprotector']['editsemiprotected'] = true;
# Tells this wiki's answers from another's on the same port (see Start).
header( '` + idHeader + `: ` + w.id + `' );
` + opts.ExtraSettings + "\n"
	if err := w.appendSettings(settings); err != nil {
		return nil, err
	}
	// action=emailuser sends from the bot's account, which needs an
	// address of its own.
	if _, err := w.php(ctx, "resetUserEmail", "--no-reset-password", "Admin", AdminEmail); err != nil {
		return nil, fmt.Errorf("admin email: %w", err)
	}
	w.BotUser, w.BotPassword, err = w.CreateBotPassword(ctx, "Admin", opts.BotApp, opts.BotGrants...)
	if err != nil {
		return nil, err
	}

	// A free port is picked as late as possible, right before PHP binds
	// it. Should another wiki take it in between, serve finds out and the
	// wiki moves to another port.
	for attempt := 1; ; attempt++ {
		port := opts.Port
		if port == 0 {
			if port, err = freePort(); err != nil {
				return nil, err
			}
		}
		w.setPort(port)
		if err := w.appendSettings(fmt.Sprintf("$wgServer = %q;\n", w.URL)); err != nil {
			return nil, err
		}
		err = w.serve(ctx, sendmail, opts.Workers)
		if err == nil {
			break
		}
		w.Close()
		if !errors.Is(err, errNotOurs) || opts.Port != 0 || attempt == 3 {
			return nil, err
		}
	}
	if !strings.HasPrefix(w.version+".", rt.series+".") {
		w.Close()
		return nil, fmt.Errorf("devwiki: asked for MediaWiki %s, but the wiki reports %s", rt.series, w.version)
	}
	return w, nil
}

func (w *Wiki) setPort(port int) {
	w.URL = fmt.Sprintf("http://127.0.0.1:%d", port)
	w.APIURL = w.URL + "/api.php"
}

// inside returns the path under which PHP sees path, a file in w.Dir.
func (w *Wiki) inside(path string) string {
	return w.rt.phpPath(w.Dir, path)
}

func (w *Wiki) appendSettings(php string) error {
	f, err := os.OpenFile(w.conf, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString(php)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// serve starts PHP's server on w.URL's port and waits until it answers.
func (w *Wiki) serve(ctx context.Context, sendmail string, workers int) error {
	cmd := w.rt.command(context.Background(), w.Dir,
		[]string{"MW_CONFIG_FILE=" + w.inside(w.conf), "PHP_CLI_SERVER_WORKERS=" + strconv.Itoa(workers)},
		"php", "-d", "sendmail_path="+w.inside(sendmail), "-S", strings.TrimPrefix(w.URL, "http://"), "-t", MediaWikiDir)
	logf, err := os.Create(filepath.Join(w.Dir, "server.log"))
	if err != nil {
		return err
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	// Its own process group holds the server and every worker it forks,
	// so that Freeze, Thaw and Close reach them all with one signal.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start php server: %w", err)
	}
	done := make(chan struct{})
	w.cmd, w.done = cmd, done
	go func() {
		cmd.Wait()
		logf.Close()
		close(done)
	}()
	return w.waitReady(ctx)
}

// waitReady waits until the server answers the API with this wiki's id,
// and learns the versions of MediaWiki and PHP from the answer.
func (w *Wiki) waitReady(ctx context.Context) error {
	client := &http.Client{Timeout: 5 * time.Second}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		ok, err := w.askSiteInfo(ctx, client)
		if ok || err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-w.done:
			log, _ := os.ReadFile(filepath.Join(w.Dir, "server.log"))
			if bytes.Contains(log, []byte("Address already in use")) {
				return fmt.Errorf("%s: %w", w.URL, errNotOurs)
			}
			return fmt.Errorf("php server exited: %s", lastLines(string(log), 5))
		case <-time.After(50 * time.Millisecond):
		}
	}
	return errors.New("wiki did not answer within 20s")
}

// askSiteInfo asks the wiki about itself once. It reports true when the
// wiki answered, false when it is not listening yet, and an error when
// another server answers or the answer cannot be read.
func (w *Wiki) askSiteInfo(ctx context.Context, client *http.Client) (bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, w.APIURL+"?action=query&meta=siteinfo&format=json&formatversion=2", nil)
	if err != nil {
		return false, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return false, nil
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return false, nil
	}
	if resp.Header.Get(idHeader) != w.id {
		return false, fmt.Errorf("%s: %w", w.URL, errNotOurs)
	}
	var si struct {
		Query struct {
			General struct {
				Generator  string `json:"generator"`
				PHPVersion string `json:"phpversion"`
				Lang       string `json:"lang"`
				MainPage   string `json:"mainpage"`
			} `json:"general"`
		} `json:"query"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&si); err != nil {
		return false, fmt.Errorf("read the wiki's site information: %w", err)
	}
	w.version = strings.TrimPrefix(si.Query.General.Generator, "MediaWiki ")
	w.phpVer = si.Query.General.PHPVersion
	w.Lang, w.MainPage = si.Query.General.Lang, si.Query.General.MainPage
	return true, nil
}

// Version returns the version of MediaWiki the wiki runs, as it reports it
// (e.g. "1.43.9"). Use it, or AtLeast, only for expectations that really
// differ between releases, so that the tests keep checking the same
// behaviour on every release they run against.
func (w *Wiki) Version() string {
	return w.version
}

// AtLeast reports whether the wiki runs MediaWiki version v ("1.43",
// "1.43.3") or newer. Tests use it where the answer they expect changed
// between releases, rather than naming the release they run against.
func (w *Wiki) AtLeast(v string) bool {
	return compareVersions(w.version, v) >= 0
}

// Setting decodes the value of one of the wiki's configuration variables
// (name like "wgPasswordPolicy", as LocalSettings.php spells it) into v, as
// the wiki sees it with its defaults and ExtraSettings applied. Tests use it
// to learn a limit from the wiki instead of hard-coding one release's. It
// runs a maintenance script, so it takes a fraction of a second.
func (w *Wiki) Setting(ctx context.Context, name string, v any) error {
	out, err := w.php(ctx, "getConfiguration", "--settings", name, "--format", "json")
	if err != nil {
		return fmt.Errorf("read setting %s: %w", name, err)
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &all); err != nil {
		return fmt.Errorf("read setting %s: %w: %s", name, err, lastLines(out, 3))
	}
	raw, ok := all[name]
	if !ok {
		return fmt.Errorf("read setting %s: the wiki has no such setting", name)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("read setting %s: %w", name, err)
	}
	return nil
}

// MinPasswordLength returns the minimum length of a new ordinary account's
// password (the "default" password policy): 1 on MediaWiki 1.39, 8 from
// 1.43 on. Tests that need a password too short for the wiki build it from
// this rather than assuming one release's rule.
func (w *Wiki) MinPasswordLength(ctx context.Context) (int, error) {
	var policy struct {
		Policies map[string]map[string]json.RawMessage `json:"policies"`
	}
	if err := w.Setting(ctx, "wgPasswordPolicy", &policy); err != nil {
		return 0, err
	}
	raw, ok := policy.Policies["default"]["MinimalPasswordLength"]
	if !ok {
		return 0, nil // no rule: any length will do
	}
	// A rule is a number, or an object with the number in "value".
	var n int
	if err := json.Unmarshal(raw, &n); err == nil {
		return n, nil
	}
	var rule struct {
		Value int `json:"value"`
	}
	if err := json.Unmarshal(raw, &rule); err != nil {
		return 0, fmt.Errorf("read the minimum password length: %w", err)
	}
	return rule.Value, nil
}

// Close stops the server and its workers. It is safe to call twice.
func (w *Wiki) Close() error {
	if w.cmd == nil || w.cmd.Process == nil {
		return nil
	}
	syscall.Kill(-w.cmd.Process.Pid, syscall.SIGCONT) // a frozen server cannot act on SIGTERM
	syscall.Kill(-w.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-w.done:
	case <-time.After(5 * time.Second):
		syscall.Kill(-w.cmd.Process.Pid, syscall.SIGKILL)
		<-w.done
	}
	return nil
}

// php runs a maintenance script (by name, without ".php") with the wiki's
// settings, in the way the wiki's release runs its scripts.
func (w *Wiki) php(ctx context.Context, script string, args ...string) (string, error) {
	cmd := w.rt.command(ctx, w.Dir, []string{"MW_CONFIG_FILE=" + w.inside(w.conf)}, append(w.rt.script(script), args...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("%s: %w: %s", script, err, lastLines(out.String(), 5))
	}
	return out.String(), nil
}

// langCodeRE matches how MediaWiki writes language codes.
var langCodeRE = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

var botPassRE = regexp.MustCompile(`username:'([^']+)' and password:'([^']+)'`)

// CreateBotPassword creates a bot password for user with the given grants and
// returns its login name and secret.
func (w *Wiki) CreateBotPassword(ctx context.Context, user, app string, grants ...string) (string, string, error) {
	out, err := w.php(ctx, "createBotPassword", "--appid", app, "--grants", strings.Join(grants, ","), user)
	if err != nil {
		return "", "", fmt.Errorf("bot password: %w", err)
	}
	m := botPassRE.FindStringSubmatch(out)
	if m == nil {
		return "", "", fmt.Errorf("bot password: unexpected output from createBotPassword: %s", lastLines(out, 3))
	}
	return m[1], m[2], nil
}

// CreateUser creates an account, optionally a sysop, with an email address.
func (w *Wiki) CreateUser(ctx context.Context, name, password, email string, sysop bool) error {
	args := []string{"--force"}
	if sysop {
		args = append(args, "--sysop")
	}
	if _, err := w.php(ctx, "createAndPromote", append(args, name, password)...); err != nil {
		return err
	}
	if email != "" {
		if _, err := w.php(ctx, "resetUserEmail", "--no-reset-password", name, email); err != nil {
			return err
		}
	}
	return nil
}

// Mail returns everything the wiki has mailed so far.
func (w *Wiki) Mail() (string, error) {
	b, err := os.ReadFile(w.MailFile)
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	return string(b), err
}

// freePort returns a loopback port nobody listens on right now. It is a
// variable so that a test can hand out a taken one.
var freePort = func() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// WaitMail waits until the mail sent after offset (a length of Mail() taken
// earlier) contains want, and returns it. MediaWiki sends mail after it has
// answered the request, so a test must wait for it rather than read at once.
func (w *Wiki) WaitMail(ctx context.Context, offset int, want string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	for {
		mail, err := w.Mail()
		if err != nil {
			return "", err
		}
		if len(mail) >= offset && strings.Contains(mail[offset:], want) {
			return mail[offset:], nil
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("no mail containing %q arrived", want)
		case <-time.After(20 * time.Millisecond):
		}
	}
}
