package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSecretsCommands(t *testing.T) {
	const value = "hunter2-Process-Test-Value-0042"
	env := hearthEnv(t, "")
	if r := hearth(t, env, "", "secrets", "ls"); r.code != 0 || !strings.Contains(r.stdout, "No secrets.") {
		t.Fatalf("ls empty: %d %q %q", r.code, r.stdout, r.stderr)
	}
	r := hearth(t, env, value+"\n", "secrets", "set", "github_token")
	if r.code != 0 || !strings.Contains(r.stdout, "Set secret github_token of user") {
		t.Fatalf("set: %d %q %q", r.code, r.stdout, r.stderr)
	}
	// No key in the environment or a keychain: a private key file.
	fi, err := os.Stat(filepath.Join(homeOf(env), "master.key"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("master key file: %v %v", fi, err)
	}
	r = hearth(t, env, "", "secrets", "ls")
	if r.code != 0 || !strings.Contains(r.stdout, "github_token") || !strings.Contains(r.stdout, "never") {
		t.Fatalf("ls: %d %q %q", r.code, r.stdout, r.stderr)
	}
	if r := hearth(t, env, "", "secrets", "ls", "--user", "owner"); r.code != 0 || !strings.Contains(r.stdout, "github_token") {
		t.Fatalf("ls --user: %d %q %q", r.code, r.stdout, r.stderr)
	}

	for _, c := range []struct {
		name   string
		env    []string
		stdin  string
		args   []string
		code   int
		stderr string
	}{
		{"empty value", nil, "", []string{"secrets", "set", "x_token"}, 1, "no value on standard input"},
		{"only a line break", nil, "\n", []string{"secrets", "set", "x_token"}, 1, "no value on standard input"},
		{"too short", nil, "abc", []string{"secrets", "set", "x_token"}, 1, "at least 8"},
		{"value on the command line", nil, "", []string{"secrets", "set", "x_token", value}, 2, "never from the command line"},
		{"bad name", nil, value, []string{"secrets", "set", "no spaces"}, 1, "invalid secret"},
		{"unknown user", nil, value, []string{"secrets", "set", "x_token", "--user", "nobody"}, 1, `no user with id or name "nobody"`},
		{"bad master key", []string{"HEARTH_MASTER_KEY=nothex"}, value, []string{"secrets", "set", "x_token"}, 1, "HEARTH_MASTER_KEY"},
		{"rm unknown", nil, "", []string{"secrets", "rm", "x_token"}, 1, `has no secret "x_token"`},
		{"no subcommand", nil, "", []string{"secrets"}, 2, "usage"},
		{"unknown subcommand", nil, "", []string{"secrets", "show"}, 2, "unknown secrets command"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := hearth(t, append(env, c.env...), c.stdin, c.args...)
			if r.code != c.code || !strings.Contains(r.stderr, c.stderr) {
				t.Fatalf("exit %d (want %d), stderr %q (want %q)", r.code, c.code, r.stderr, c.stderr)
			}
		})
	}
	if r := hearth(t, env, "", "secrets", "ls"); strings.Contains(r.stdout, "x_token") {
		t.Fatalf("a refused set stored something: %q", r.stdout)
	}

	if r := hearth(t, env, "", "secrets", "rm", "github_token"); r.code != 0 || !strings.Contains(r.stdout, "Removed secret github_token") {
		t.Fatalf("rm: %d %q %q", r.code, r.stdout, r.stderr)
	}
	if r := hearth(t, env, "", "secrets", "ls"); !strings.Contains(r.stdout, "No secrets.") {
		t.Fatalf("ls after rm: %q", r.stdout)
	}
	// The value never appears in plain text in the database.
	files, _ := filepath.Glob(filepath.Join(homeOf(env), "hearth.db*"))
	if len(files) == 0 {
		t.Fatal("no database files")
	}
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(data, []byte(value)) {
			t.Fatalf("%s holds the value in plain text", p)
		}
	}
}
