package main

import (
	"regexp"
	"strings"
	"testing"

	"github.com/hearthbot/hearth/engine"
)

func TestTokensCommands(t *testing.T) {
	env := hearthEnv(t, "")
	r := hearth(t, env, "", "tokens", "ls")
	if r.code != 0 || !strings.Contains(r.stdout, "No API tokens.") {
		t.Fatalf("ls: %d %q %q", r.code, r.stdout, r.stderr)
	}
	for _, bad := range [][]string{
		{"tokens"},
		{"tokens", "create"},
		{"tokens", "create", "--user", "owner", "extra"},
		{"tokens", "revoke"},
		{"tokens", "frobnicate"},
	} {
		if r := hearth(t, env, "", bad...); r.code != 2 || !strings.Contains(r.stderr, "usage") && !strings.Contains(r.stderr, "unknown tokens command") {
			t.Errorf("%v: exit %d stderr %q", bad, r.code, r.stderr)
		}
	}
	if r := hearth(t, env, "", "tokens", "create", "--user", "nobody"); r.code != 1 || !strings.Contains(r.stderr, `no user with id or name "nobody"`) {
		t.Fatalf("unknown user: %d %q", r.code, r.stderr)
	}

	// The owner is named "owner" by default; the token is printed alone.
	r = hearth(t, env, "", "tokens", "create", "--user", "owner", "--name", "laptop")
	token := strings.TrimSpace(r.stdout)
	if r.code != 0 || !engine.IsAPITokenFormat(token) || !strings.Contains(r.stderr, "not shown again") || !strings.Contains(r.stderr, "not enabled yet") {
		t.Fatalf("create: %d %q %q", r.code, r.stdout, r.stderr)
	}
	id := regexp.MustCompile(`token ([0-9a-f]{16}) `).FindStringSubmatch(r.stderr)
	if id == nil {
		t.Fatalf("no token id in %q", r.stderr)
	}

	r = hearth(t, env, "", "tokens", "ls")
	if r.code != 0 || !strings.Contains(r.stdout, id[1]) || !strings.Contains(r.stdout, "laptop") ||
		!strings.Contains(r.stdout, token[:10]+"…") || !strings.Contains(r.stdout, "active") || strings.Contains(r.stdout, token) {
		t.Fatalf("ls: %d %q %q", r.code, r.stdout, r.stderr)
	}
	if r := hearth(t, env, "", "tokens", "ls", "--user", "owner"); r.code != 0 || !strings.Contains(r.stdout, id[1]) {
		t.Fatalf("ls --user: %d %q %q", r.code, r.stdout, r.stderr)
	}

	r = hearth(t, env, "", "tokens", "revoke", id[1])
	if r.code != 0 || !strings.Contains(r.stdout, "Revoked API token "+id[1]) {
		t.Fatalf("revoke: %d %q %q", r.code, r.stdout, r.stderr)
	}
	if r := hearth(t, env, "", "tokens", "ls"); !strings.Contains(r.stdout, "revoked ") {
		t.Fatalf("ls after revoke: %q", r.stdout)
	}
	if r := hearth(t, env, "", "tokens", "revoke", "0123456789abcdef"); r.code != 1 || !strings.Contains(r.stderr, "no API token with id") {
		t.Fatalf("revoke unknown: %d %q", r.code, r.stderr)
	}
}
