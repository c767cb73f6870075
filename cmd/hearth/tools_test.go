package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hearthbot/hearth/sandbox"
	"github.com/hearthbot/hearth/sandbox/sandboxtest"
)

// toolsEnv is a fresh HEARTH_HOME sharing the tests' compilation cache,
// and a directory with the built trivial and github tools, each with its
// capabilities file beside it, as `make wasm` leaves them.
func toolsEnv(t *testing.T) (env []string, dist string) {
	t.Helper()
	built := sandboxtest.BuildWasm(t, "sandbox/testdata/guests/trivial", "tools-src/github")
	dist = t.TempDir()
	sandboxtest.InstallTool(t, dist, "trivial", built["trivial"], "{}")
	caps, err := os.ReadFile(filepath.Join("..", "..", "tools-src", "github", "github.capabilities.json"))
	if err != nil {
		t.Fatal(err)
	}
	sandboxtest.InstallTool(t, dist, "github", built["github"], string(caps))
	return hearthEnv(t, "", "HEARTH_SANDBOX__CACHE_DIR="+sandboxtest.CompileCacheDir()), dist
}

func TestToolsCommands(t *testing.T) {
	env, dist := toolsEnv(t)
	toolsDir := filepath.Join(homeOf(env), "tools")
	trivial := filepath.Join(dist, "trivial.wasm")

	// Without a terminal and without --yes: the review, then a refusal.
	r := hearth(t, env, "", "tools", "install", trivial)
	if r.code != 2 || !strings.Contains(r.stdout, `Install tool "trivial"`) || !strings.Contains(r.stderr, "--yes") {
		t.Fatalf("install without --yes: %d %q %q", r.code, r.stdout, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(toolsDir, "trivial.wasm")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a refused install copied the module: %v", err)
	}
	r = hearth(t, env, "", "tools", "install", "--yes", trivial)
	if r.code != 0 || !strings.Contains(r.stdout, "Installed trivial into "+toolsDir) {
		t.Fatalf("install --yes: %d %q %q", r.code, r.stdout, r.stderr)
	}
	r = hearth(t, env, "", "tools", "install", "--yes", filepath.Join(dist, "github.wasm"))
	if r.code != 0 || !strings.Contains(r.stdout, "secret: github_token, injected by the host as Authorization: Bearer, only to api.github.com") {
		t.Fatalf("install github: %d %q %q", r.code, r.stdout, r.stderr)
	}
	if err := os.WriteFile(filepath.Join(toolsDir, "broken.capabilities.json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(toolsDir, "broken.wasm"), []byte("not wasm"), 0o644); err != nil {
		t.Fatal(err)
	}

	r = hearth(t, env, "", "tools", "ls")
	for _, want := range []string{"time ", "builtin", "built in", "trivial ", "wasm", "github ", "broken ", "refused: "} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("ls lacks %q: %q %q", want, r.stdout, r.stderr)
		}
	}
	if r.code != 0 {
		t.Fatalf("ls: exit %d %q", r.code, r.stderr)
	}

	r = hearth(t, env, "", "tools", "run", "trivial", "--params", `{"text":"hello through the sandbox"}`)
	if r.code != 0 || strings.TrimSpace(r.stdout) != "hello through the sandbox" {
		t.Fatalf("run: %d %q %q", r.code, r.stdout, r.stderr)
	}
	for _, c := range []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"schema violation", []string{"tools", "run", "trivial", "--params", `{}`}, 1, "missing property 'text'"},
		{"tool error", []string{"tools", "run", "github", "--params", `{"action":"get_issue","owner":"-x","repo":"y"}`}, 1, "is not a GitHub user or organisation name"},
		{"params not JSON", []string{"tools", "run", "trivial", "--params", `text=hi`}, 2, "--params must be a JSON object"},
		{"params not an object", []string{"tools", "run", "trivial", "--params", `[1]`}, 2, "--params must be a JSON object"},
		{"not installed", []string{"tools", "run", "weather"}, 1, `no installed tool "weather"`},
		{"bad name", []string{"tools", "run", "../x"}, 1, `tool name "../x"`},
		{"refused tool", []string{"tools", "run", "broken"}, 1, "tool broken is refused"},
		{"missing module", []string{"tools", "install", "--yes", filepath.Join(dist, "nope.wasm")}, 1, "nope"},
		{"unknown subcommand", []string{"tools", "remove", "x"}, 2, "unknown tools command"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := hearth(t, env, "", c.args...)
			if r.code != c.code || !strings.Contains(r.stderr, c.stderr) {
				t.Fatalf("exit %d (want %d), stderr %q (want %q)", r.code, c.code, r.stderr, c.stderr)
			}
		})
	}
}

func TestConfirmInstall(t *testing.T) {
	rev := sandbox.Review{Name: "trivial", SHA256: strings.Repeat("ab", 32)}
	for _, c := range []struct {
		name        string
		interactive bool
		yes         bool
		answer      string
		want        bool
		usage       bool
	}{
		{"yes flag", false, true, "", true, false},
		{"no terminal", false, false, "y\n", false, true},
		{"answer y", true, false, "y\n", true, false},
		{"answer YES", true, false, " YES \n", true, false},
		{"answer n", true, false, "n\n", false, false},
		{"empty answer", true, false, "\n", false, false},
		{"end of input", true, false, "", false, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			var out strings.Builder
			ok, err := confirmInstall(env{stdin: strings.NewReader(c.answer), stdout: &out, interactive: c.interactive}, rev, c.yes)
			var ue usageError
			if ok != c.want || errors.As(err, &ue) != c.usage || (err != nil && !c.usage) {
				t.Fatalf("ok %v err %v", ok, err)
			}
			if !strings.Contains(out.String(), `tool "trivial"`) {
				t.Fatalf("no review shown: %q", out.String())
			}
		})
	}
}
