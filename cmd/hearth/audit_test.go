package main

import (
	"strings"
	"testing"
)

func TestAuditCommand(t *testing.T) {
	env, dist := toolsEnv(t)
	if r := hearth(t, env, "", "audit"); r.code != 0 || !strings.Contains(r.stdout, "No audit entries.") {
		t.Fatalf("empty: %d %q %q", r.code, r.stdout, r.stderr)
	}
	if r := hearth(t, env, "", "tools", "install", "--yes", dist+"/trivial.wasm"); r.code != 0 {
		t.Fatalf("install: %d %q", r.code, r.stderr)
	}
	for _, text := range []string{"first", "second"} {
		if r := hearth(t, env, "", "tools", "run", "trivial", "--params", `{"text":"`+text+`"}`); r.code != 0 {
			t.Fatalf("run: %d %q", r.code, r.stderr)
		}
	}
	if r := hearth(t, env, "", "tools", "run", "trivial", "--params", `{"text":"\u001b[2Jwiped"}`); r.code != 0 || strings.Contains(r.stdout, "\x1b") {
		t.Fatalf("run with an escape: %d %q", r.code, r.stdout)
	}

	r := hearth(t, env, "", "audit", "--tool", "trivial", "--kind", "tool", "--since", "1h")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if r.code != 0 || len(lines) != 4 || !strings.HasPrefix(lines[0], "TIME ") {
		t.Fatalf("audit: %d %q %q", r.code, r.stdout, r.stderr)
	}
	// Aligned columns: every row starts its TOOL cell where the header does.
	col := strings.Index(lines[0], "TOOL")
	for _, l := range lines[1:] {
		if !strings.HasPrefix(l[col:], "trivial ") || !strings.Contains(l, " tool ") || !strings.Contains(l, " ok ") {
			t.Errorf("row %q", l)
		}
	}
	if strings.Contains(r.stdout, "\x1b") {
		t.Error("a control character reached the terminal")
	}
	if r := hearth(t, env, "", "audit", "--limit", "1"); len(strings.Split(strings.TrimSpace(r.stdout), "\n")) != 2 {
		t.Fatalf("--limit 1: %q", r.stdout)
	}
	for _, args := range [][]string{{"--tool", "nope"}, {"--kind", "pairing"}, {"--since", "2099-01-01"}, {"--user", "owner", "--tool", "nope"}} {
		if r := hearth(t, env, "", append([]string{"audit"}, args...)...); r.code != 0 || !strings.Contains(r.stdout, "No audit entries.") {
			t.Errorf("%v: %d %q %q", args, r.code, r.stdout, r.stderr)
		}
	}
	for _, c := range []struct {
		args   []string
		code   int
		stderr string
	}{
		{[]string{"--limit", "0"}, 2, "--limit must be between 1"},
		{[]string{"--since", "yesterday"}, 2, "--since"},
		{[]string{"--user", "nobody"}, 1, "nobody"},
		{[]string{"extra"}, 2, "usage"},
	} {
		if r := hearth(t, env, "", append([]string{"audit"}, c.args...)...); r.code != c.code || !strings.Contains(r.stderr, c.stderr) {
			t.Errorf("%v: exit %d (want %d) stderr %q", c.args, r.code, c.code, r.stderr)
		}
	}
}
