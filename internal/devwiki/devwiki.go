// Package devwiki installs and serves a throwaway MediaWiki from Debian's
// packages: SQLite database, PHP's built-in web server on a loopback port,
// outgoing mail captured to a file. The tests and the demo use it; it is not
// meant for production.
package devwiki

import (
	"bytes"
	"context"
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

// MediaWikiDir is where Debian's mediawiki package installs MediaWiki.
const MediaWikiDir = "/usr/share/mediawiki"

// AdminPassword is the password of the wiki's first account, Admin. It is a
// throwaway wiki's, on a loopback port.
const AdminPassword = "A-long-admin-pass!"

// Options configure a throwaway wiki.
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
}

// DefaultGrants are the bot-password grants wikimod needs.
var DefaultGrants = []string{"basic", "protect", "createaccount", "createeditmovepage", "highvolume"}

// Wiki is a running throwaway wiki.
type Wiki struct {
	Dir         string
	URL         string // e.g. http://127.0.0.1:8181
	APIURL      string // URL + "/api.php"
	BotUser     string // e.g. "Admin@wikimod"
	BotPassword string
	MailFile    string // every mail the wiki sends is appended here

	conf string
	cmd  *exec.Cmd
	done chan struct{}
}

// Check reports why a throwaway wiki cannot be started on this machine, or nil.
func Check() error {
	if _, err := exec.LookPath("php"); err != nil {
		return errors.New("php is not installed (run scripts/install-deps.sh)")
	}
	if _, err := os.Stat(filepath.Join(MediaWikiDir, "maintenance", "install.php")); err != nil {
		return errors.New("MediaWiki is not installed in " + MediaWikiDir + " (run scripts/install-deps.sh)")
	}
	return nil
}

// Start installs a wiki in opts.Dir and serves it. Close stops it.
func Start(ctx context.Context, opts Options) (*Wiki, error) {
	if err := Check(); err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, err
	}
	port := opts.Port
	if port == 0 {
		if port, err = freePort(); err != nil {
			return nil, err
		}
	}
	if opts.Workers == 0 {
		opts.Workers = 4
	}
	if opts.BotApp == "" {
		opts.BotApp = "wikimod"
	}
	if len(opts.BotGrants) == 0 {
		opts.BotGrants = DefaultGrants
	}
	w := &Wiki{
		Dir:      dir,
		URL:      fmt.Sprintf("http://127.0.0.1:%d", port),
		MailFile: filepath.Join(dir, "mail.txt"),
		conf:     filepath.Join(dir, "conf", "LocalSettings.php"),
	}
	w.APIURL = w.URL + "/api.php"

	for _, d := range []string{"conf", "data"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return nil, err
		}
	}
	if _, err := w.php(ctx, "install.php", "--dbtype", "sqlite", "--dbpath", filepath.Join(dir, "data"),
		"--dbname", "w", "--server", w.URL, "--scriptpath", "", "--confpath", filepath.Join(dir, "conf"),
		"--pass", AdminPassword, "TestWiki", "Admin"); err != nil {
		return nil, fmt.Errorf("install: %w", err)
	}
	sendmail := filepath.Join(dir, "sendmail.sh")
	script := "#!/bin/sh\n# Captures the wiki's outgoing mail.\n{ cat; echo; } >> '" + w.MailFile + "'\n"
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
` + opts.ExtraSettings + "\n"
	f, err := os.OpenFile(w.conf, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return nil, err
	}
	_, err = f.WriteString(settings)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	w.BotUser, w.BotPassword, err = w.CreateBotPassword(ctx, "Admin", opts.BotApp, opts.BotGrants...)
	if err != nil {
		return nil, err
	}

	cmd := exec.Command("php", "-d", "sendmail_path="+sendmail, "-S", fmt.Sprintf("127.0.0.1:%d", port), "-t", MediaWikiDir)
	cmd.Env = append(os.Environ(), "MW_CONFIG_FILE="+w.conf, "PHP_CLI_SERVER_WORKERS="+strconv.Itoa(opts.Workers))
	cmd.Dir = dir
	logf, err := os.Create(filepath.Join(dir, "server.log"))
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start php server: %w", err)
	}
	w.cmd = cmd
	w.done = make(chan struct{})
	go func() {
		cmd.Wait()
		logf.Close()
		close(w.done)
	}()
	if err := w.waitReady(ctx); err != nil {
		w.Close()
		return nil, err
	}
	return w, nil
}

func (w *Wiki) waitReady(ctx context.Context) error {
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(w.APIURL + "?action=query&meta=siteinfo&format=json")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-w.done:
			return errors.New("php server exited; see " + filepath.Join(w.Dir, "server.log"))
		case <-time.After(50 * time.Millisecond):
		}
	}
	return errors.New("wiki did not answer within 20s")
}

// Close stops the server and its workers. It is safe to call twice.
func (w *Wiki) Close() error {
	if w.cmd == nil || w.cmd.Process == nil {
		return nil
	}
	syscall.Kill(-w.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-w.done:
	case <-time.After(5 * time.Second):
		syscall.Kill(-w.cmd.Process.Pid, syscall.SIGKILL)
		<-w.done
	}
	return nil
}

// php runs a maintenance script with the wiki's settings.
func (w *Wiki) php(ctx context.Context, script string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "php", append([]string{filepath.Join(MediaWikiDir, "maintenance", script)}, args...)...)
	cmd.Env = append(os.Environ(), "MW_CONFIG_FILE="+w.conf)
	cmd.Dir = w.Dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("%s: %w: %s", script, err, lastLines(out.String(), 5))
	}
	return out.String(), nil
}

var botPassRE = regexp.MustCompile(`username:'([^']+)' and password:'([^']+)'`)

// CreateBotPassword creates a bot password for user with the given grants and
// returns its login name and secret.
func (w *Wiki) CreateBotPassword(ctx context.Context, user, app string, grants ...string) (string, string, error) {
	out, err := w.php(ctx, "createBotPassword.php", "--appid", app, "--grants", strings.Join(grants, ","), user)
	if err != nil {
		return "", "", fmt.Errorf("bot password: %w", err)
	}
	m := botPassRE.FindStringSubmatch(out)
	if m == nil {
		return "", "", errors.New("bot password: unexpected output from createBotPassword.php")
	}
	return m[1], m[2], nil
}

// CreateUser creates an account, optionally a sysop, with an email address.
func (w *Wiki) CreateUser(ctx context.Context, name, password, email string, sysop bool) error {
	args := []string{"--force"}
	if sysop {
		args = append(args, "--sysop")
	}
	if _, err := w.php(ctx, "createAndPromote.php", append(args, name, password)...); err != nil {
		return err
	}
	if email != "" {
		if _, err := w.php(ctx, "resetUserEmail.php", "--no-reset-password", name, email); err != nil {
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

func freePort() (int, error) {
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
