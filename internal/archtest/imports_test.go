package archtest

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/hearthbot/hearth"

// rule forbids packages under a prefix from importing other prefixes.
type rule struct {
	from   string   // package path prefix, relative to the module
	forbid []string // forbidden import prefixes, relative to the module
	// stdlibOnly forbids every import outside the standard library.
	stdlibOnly bool
	why        string
}

var rules = []rule{
	{from: "engine", forbid: []string{"adapters", "sandbox", "memory", "bot", "cmd", "internal/fake"},
		why: "the engine never imports an adapter, a store implementation, the sandbox or the composition root"},
	{from: "adapters", forbid: []string{"sandbox", "memory", "bot", "cmd", "engine/runtime", "engine/agent", "engine/llm"},
		why: "an adapter imports the engine's types and interfaces and its platform library only"},
	{from: "sandbox", forbid: []string{"adapters", "memory", "bot", "cmd", "engine/runtime", "engine/agent"},
		why: "the sandbox imports engine interfaces and wazero"},
	{from: "sandbox/guest", stdlibOnly: true, why: "the guest SDK builds for wasip1 with the standard library only"},
	{from: "memory", forbid: []string{"adapters", "sandbox", "bot", "cmd", "engine/runtime", "engine/agent"},
		why: "stores implement engine interfaces and nothing else"},
	{from: "bot", forbid: []string{"cmd"}, why: "only the CLI sits above the composition root"},
}

// adapterPeers: one adapter never imports another.
func adapterPeer(pkg, imp string) bool {
	if !strings.HasPrefix(pkg, "adapters/") || !strings.HasPrefix(imp, "adapters/") {
		return false
	}
	return strings.SplitN(pkg, "/", 3)[1] != strings.SplitN(imp, "/", 3)[1]
}

func under(path, prefix string) bool { return path == prefix || strings.HasPrefix(path, prefix+"/") }

// imports returns, per package directory (relative), the module-relative or
// external import paths of its non-test files.
func imports(t *testing.T, root string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "node_modules" || name == "build") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		rel = filepath.ToSlash(rel)
		for _, im := range f.Imports {
			p, _ := strconv.Unquote(im.Path.Value)
			out[rel] = append(out[rel], p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func isStdlib(p string) bool {
	first := strings.SplitN(p, "/", 2)[0]
	return !strings.Contains(first, ".")
}

func violations(all map[string][]string) []string {
	var bad []string
	for pkg, imps := range all {
		for _, imp := range imps {
			local, isLocal := strings.CutPrefix(imp, module+"/")
			for _, r := range rules {
				if !under(pkg, r.from) {
					continue
				}
				if r.stdlibOnly && !isStdlib(imp) {
					bad = append(bad, pkg+" imports "+imp+": "+r.why)
				}
				if !isLocal {
					continue
				}
				for _, f := range r.forbid {
					if under(local, f) || strings.HasPrefix(local, f) && strings.HasSuffix(f, "fake") {
						bad = append(bad, pkg+" imports "+imp+": "+r.why)
					}
				}
			}
			if isLocal && adapterPeer(pkg, local) {
				bad = append(bad, pkg+" imports "+imp+": one adapter never imports another")
			}
			if isLocal && under(local, "cmd") {
				bad = append(bad, pkg+" imports "+imp+": nothing imports the CLI")
			}
		}
	}
	sort.Strings(bad)
	return bad
}

func TestImportRules(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not found at %s: %v", root, err)
	}
	all := imports(t, root)
	if len(all["engine"]) == 0 && len(all["engine/runtime"]) == 0 {
		t.Fatal("found no engine packages; the walk is broken")
	}
	for _, v := range violations(all) {
		t.Error(v)
	}
}

// TestRulesCatchViolations proves the checker is not vacuous.
func TestRulesCatchViolations(t *testing.T) {
	cases := []struct {
		pkg, imp string
	}{
		{"engine/runtime", module + "/adapters/telegram"},
		{"engine", module + "/memory/sqlite"},
		{"engine/agent", module + "/sandbox"},
		{"adapters/slack", module + "/adapters/telegram"},
		{"adapters/slack", module + "/memory/sqlite"},
		{"sandbox/guest", "github.com/tetratelabs/wazero"},
		{"memory/sqlite", module + "/bot"},
		{"bot", module + "/cmd/hearth"},
	}
	for _, c := range cases {
		if v := violations(map[string][]string{c.pkg: {c.imp}}); len(v) == 0 {
			t.Errorf("%s importing %s was not reported", c.pkg, c.imp)
		}
	}
	ok := map[string][]string{
		"engine/runtime": {module + "/engine", module + "/engine/access", "context"},
		"adapters/slack": {module + "/engine", module + "/engine/channelkit", "github.com/slack-go/slack"},
		"sandbox":        {module + "/engine", "github.com/tetratelabs/wazero"},
		"bot":            {module + "/memory/sqlite", module + "/adapters/repl"},
	}
	if v := violations(ok); len(v) != 0 {
		t.Errorf("allowed imports reported: %v", v)
	}
}
