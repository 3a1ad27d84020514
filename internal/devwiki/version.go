package devwiki

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// VersionEnv names the environment variable that picks the MediaWiki the
// tests and the demo run against: "1.39" or "1.43". The whole suite runs
// against both in CI, so one variable switches every package's wiki at once.
const VersionEnv = "WIKIMOD_MEDIAWIKI"

// DefaultVersion is the MediaWiki release series used when VersionEnv is
// unset: 1.43 LTS, because 1.39 reached its end of life in 2025 and the
// wikis wikimod serves run 1.43 or newer.
const DefaultVersion = "1.43"

// Versions lists the MediaWiki release series devwiki can run, oldest first.
var Versions = []string{"1.39", "1.43"}

// RootDir143 is the Debian trixie root that MediaWiki 1.43 runs in.
// scripts/install-deps.sh builds it once per machine with debootstrap. It
// lives outside any clone of the repository so that every clone and
// worktree shares one copy (about 700 MB), "git clean" cannot remove it,
// and go's ./... never walks into it; /var/lib is where Debian keeps state
// that programs build for themselves.
const RootDir143 = "/var/lib/wikimod/mediawiki-1.43"

// MediaWikiDir is where Debian's mediawiki package installs MediaWiki, on
// the machine itself for 1.39 and inside RootDir143 for 1.43.
const MediaWikiDir = "/usr/share/mediawiki"

// rootWikiDir is where a wiki's Dir appears inside the Debian root. Each
// PHP process gets its own mount namespace with Dir bound there, so
// concurrent wikis do not see each other and no mount outlives its
// processes.
const rootWikiDir = "/srv/wiki"

// SelectedVersion returns the MediaWiki release series VersionEnv selects,
// DefaultVersion when it is unset, or an error naming the valid values.
func SelectedVersion() (string, error) {
	v := strings.TrimSpace(os.Getenv(VersionEnv))
	if v == "" {
		return DefaultVersion, nil
	}
	return checkSeries(v)
}

func checkSeries(v string) (string, error) {
	for _, known := range Versions {
		if v == known {
			return v, nil
		}
	}
	return "", fmt.Errorf("%s=%q: devwiki runs MediaWiki %s", VersionEnv, v, strings.Join(Versions, " or "))
}

// runtime says how to run one MediaWiki release series' PHP: on the
// machine itself, or chrooted into a Debian root of its own.
type runtime struct {
	series string // "1.39", "1.43"
	root   string // "" runs on the machine itself
}

// runtimeFor returns how to run series: 1.39 from the machine's own
// bookworm packages, 1.43 from the trixie root.
func runtimeFor(series string) (runtime, error) {
	series, err := checkSeries(series)
	if err != nil {
		return runtime{}, err
	}
	if series == "1.43" {
		return runtime{series: series, root: RootDir143}, nil
	}
	return runtime{series: series}, nil
}

// script returns the command line that runs the maintenance script name
// ("install", "createBotPassword", ...). 1.40 and newer run every script
// through maintenance/run.php; 1.39 has only the scripts' own files.
func (rt runtime) script(name string) []string {
	if rt.root == "" {
		return []string{"php", filepath.Join(MediaWikiDir, "maintenance", name+".php")}
	}
	return []string{"php", filepath.Join(MediaWikiDir, "maintenance", "run.php"), name}
}

// chrootPath is the PATH for commands run around and inside the Debian
// root. It names the sbin folders, which a normal user's PATH lacks on
// Debian although chroot lives there.
const chrootPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// chrootScript runs in the machine's own shell inside a fresh mount
// namespace: it binds the wiki's folder ($1) into the root ($2) and then
// replaces itself with the command chrooted there. Every step execs, so
// the PHP process keeps the pid (and process group) Go started, which
// Freeze and Close signal.
const chrootScript = `mount --bind "$1" "$2` + rootWikiDir + `" && root=$2 && shift 2 && exec chroot "$root" "$@"`

// command returns a command that runs args (a PHP command line) for the
// wiki in dir, with env added to the environment. dir is the host's path;
// inside a root, the command sees it at rootWikiDir.
func (rt runtime) command(ctx context.Context, dir string, env []string, args ...string) *exec.Cmd {
	if rt.root == "" {
		cmd := exec.CommandContext(ctx, args[0], args[1:]...)
		cmd.Env = append(os.Environ(), env...)
		cmd.Dir = dir
		return cmd
	}
	var argv []string
	if os.Geteuid() != 0 {
		// A user namespace in which the caller is root lets a normal
		// user mount and chroot; files PHP writes stay the caller's.
		argv = append(argv, "--user", "--map-root-user")
	}
	argv = append(argv, "--mount", "--propagation", "private", "sh", "-c", chrootScript, "sh", dir, rt.root)
	cmd := exec.CommandContext(ctx, "/usr/bin/unshare", append(argv, args...)...)
	// The machine's environment means nothing inside the root (a TMPDIR
	// there may not exist), so PHP gets a clean one. Its temporary files
	// (MediaWiki's id generator keeps state there) go to the wiki's own
	// folder: wikis stay apart, and the shared root is never written at
	// run time, whoever runs the tests.
	cmd.Env = append([]string{chrootPath, "LANG=C.UTF-8", "HOME=/root", "TMPDIR=" + rootWikiDir + "/tmp"}, env...)
	cmd.Dir = dir
	return cmd
}

// phpPath is the path under which PHP sees path, a file in the wiki's
// folder dir.
func (rt runtime) phpPath(dir, path string) string {
	if rt.root == "" {
		return path
	}
	rel, err := filepath.Rel(dir, path)
	if err != nil || strings.HasPrefix(rel, "..") {
		panic("devwiki: " + path + " is not inside " + dir)
	}
	return filepath.Join(rootWikiDir, rel)
}

var userns struct {
	once sync.Once
	err  error
}

// check reports why this series cannot run here, or nil.
func (rt runtime) check() error {
	install := "run scripts/install-deps.sh, or set " + VersionEnv + " to another of " + strings.Join(Versions, ", ")
	if rt.root == "" {
		if _, err := exec.LookPath("php"); err != nil {
			return fmt.Errorf("MediaWiki %s: php is not installed (%s)", rt.series, install)
		}
		if _, err := os.Stat(filepath.Join(MediaWikiDir, "maintenance", "install.php")); err != nil {
			return fmt.Errorf("MediaWiki %s is not installed in %s (%s)", rt.series, MediaWikiDir, install)
		}
		return nil
	}
	for _, p := range []string{"usr/bin/php", "usr/share/mediawiki/maintenance/run.php", strings.TrimPrefix(rootWikiDir, "/")} {
		if _, err := os.Stat(filepath.Join(rt.root, p)); err != nil {
			return fmt.Errorf("MediaWiki %s is not installed in %s (%s)", rt.series, rt.root, install)
		}
	}
	if _, err := os.Stat("/usr/bin/unshare"); err != nil {
		return errors.New("unshare is missing (Debian's util-linux package)")
	}
	if os.Geteuid() == 0 {
		return nil
	}
	userns.once.Do(func() {
		out, err := exec.Command("/usr/bin/unshare", "--user", "--map-root-user", "--mount", "true").CombinedOutput()
		if err != nil {
			userns.err = fmt.Errorf("MediaWiki %s runs chrooted in %s, which needs root or user namespaces: %v %s", rt.series, rt.root, err, strings.TrimSpace(string(out)))
		}
	})
	return userns.err
}

// compareVersions compares dotted version numbers ("1.43.9" and "1.43")
// part by part as numbers; missing parts count as zero. It returns -1, 0
// or 1 as a is older than, the same as, or newer than b.
func compareVersions(a, b string) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(as) || i < len(bs); i++ {
		var x, y int
		if i < len(as) {
			x, _ = strconv.Atoi(leadingDigits(as[i]))
		}
		if i < len(bs) {
			y, _ = strconv.Atoi(leadingDigits(bs[i]))
		}
		switch {
		case x < y:
			return -1
		case x > y:
			return 1
		}
	}
	return 0
}

// leadingDigits keeps the number at the start of a version part, so that
// "0-rc" and "9+dfsg" compare as 0 and 9.
func leadingDigits(s string) string {
	for i, r := range s {
		if r < '0' || r > '9' {
			return s[:i]
		}
	}
	return s
}
