package storage_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestBackendsImportOnlyTheDomain keeps storage at the edge of the graph:
// each backend and the contract suite import, of wikimod's packages, the
// domain (commands) and mw alone, so that neither backend pulls in a chat
// SDK or the bot's runtime, and a PostgreSQL build pulls in neither them
// nor SQLite's cgo driver.
func TestBackendsImportOnlyTheDomain(t *testing.T) {
	const module = "github.com/wikimod/wikimod/"
	for _, c := range []struct {
		pkg       string
		forbidden []string // prefixes no dependency may have
	}{
		{"storage", []string{"github.com/bwmarrin/discordgo", "github.com/slack-go/", module + "bot"}},
		{"storage/postgres", []string{"github.com/mattn/go-sqlite3", "github.com/bwmarrin/discordgo", "github.com/slack-go/", module + "bot"}},
		{"storage/storagetest", []string{"github.com/mattn/go-sqlite3", "github.com/bwmarrin/discordgo", "github.com/slack-go/", module + "bot"}},
	} {
		pkg := module + c.pkg
		for _, imp := range goList(t, "-f", `{{join .Imports "\n"}}`, pkg) {
			// The contract suite, test code, may also use the test
			// helpers that import nothing of ours.
			testHelper := c.pkg == "storage/storagetest" && imp == module+"internal/testwait"
			if strings.HasPrefix(imp, module) && imp != module+"commands" && imp != module+"mw" && !testHelper {
				t.Errorf("%s imports %s; of wikimod's packages it may import commands and mw only", c.pkg, imp)
			}
		}
		for _, dep := range goList(t, "-deps", pkg) {
			for _, f := range c.forbidden {
				if strings.HasPrefix(dep, f) {
					t.Errorf("%s depends on %s", c.pkg, dep)
				}
			}
		}
	}
}

// goList runs go list with args and returns the lines it printed.
func goList(t *testing.T, args ...string) []string {
	t.Helper()
	out, err := exec.Command("go", append([]string{"list"}, args...)...).Output()
	if err != nil {
		msg := err.Error()
		if ee, ok := err.(*exec.ExitError); ok {
			msg += ": " + string(ee.Stderr)
		}
		t.Fatalf("go list %s: %s", strings.Join(args, " "), msg)
	}
	return strings.Fields(string(out))
}
