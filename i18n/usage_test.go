package i18n_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/wikimod/wikimod/i18n"
)

// TestEveryMessageIsUsed fails on a catalogue key that no production Go file
// of the module names as a string literal: a message nobody can see is a
// message translators translate for nothing. Keys are always written out
// whole in code (never built from parts), so that this finds them.
func TestEveryMessageIsUsed(t *testing.T) {
	used := map[string]bool{}   // every "wikimod-…" literal
	called := map[string]bool{} // the first argument of M, T and usage calls
	fset := token.NewFileSet()
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); name != ".." && (strings.HasPrefix(name, ".") || name == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if call, ok := n.(*ast.CallExpr); ok && len(call.Args) > 0 {
				name := ""
				switch fn := call.Fun.(type) {
				case *ast.Ident:
					name = fn.Name
				case *ast.SelectorExpr:
					name = fn.Sel.Name
				}
				if lit, ok := call.Args[0].(*ast.BasicLit); ok && lit.Kind == token.STRING && (name == "M" || name == "T" || name == "usage") {
					if s, err := strconv.Unquote(lit.Value); err == nil {
						called[s] = true
					}
				}
			}
			if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
				if s, err := strconv.Unquote(lit.Value); err == nil && strings.HasPrefix(s, "wikimod-") {
					used[s] = true
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var unused []string
	for _, k := range i18n.Default().Keys() {
		if !used[k] {
			unused = append(unused, k)
		}
	}
	if len(unused) > 0 {
		slices.Sort(unused)
		t.Errorf("%d catalogue messages are used by no code (remove them from en.json, qqq.json and every other catalogue, or use them):\n%s",
			len(unused), strings.Join(unused, "\n"))
	}
	var missing []string
	keys := i18n.Default().Keys()
	for k := range called {
		if !slices.Contains(keys, k) {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		t.Errorf("%d keys are used in code but missing from en.json:\n%s", len(missing), strings.Join(missing, "\n"))
	}
}
