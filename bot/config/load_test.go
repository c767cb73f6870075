package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

// environ is a test environment (never the process's).
type environ []string

// homeWith makes a fake user home whose ~/.hearth/config.yaml holds yaml
// (no file when yaml is empty) and returns the home directory.
func homeWith(t *testing.T, yaml string) string {
	t.Helper()
	home := t.TempDir()
	if yaml != "" {
		writeFile(t, filepath.Join(home, ".hearth", "config.yaml"), yaml)
	}
	return home
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func mustLoad(t *testing.T, opts LoadOptions) (*Config, []Warning) {
	t.Helper()
	cfg, warnings, err := Load(opts)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return cfg, warnings
}

// problemsOf returns the problems of an *Error, failing otherwise.
func problemsOf(t *testing.T, err error) []Problem {
	t.Helper()
	var ce *Error
	if !errors.As(err, &ce) {
		t.Fatalf("want *config.Error, got %T: %v", err, err)
	}
	return ce.Problems
}

func TestDefaults(t *testing.T) {
	home := homeWith(t, "")
	cfg, warnings := mustLoad(t, LoadOptions{HomeDir: home})
	if len(warnings) != 0 {
		t.Errorf("warnings: %v", warnings)
	}
	want := Default()
	want.Home = filepath.Join(home, ".hearth")
	want.Database.Path = filepath.Join(home, ".hearth", "hearth.db")
	want.Channels.REPL.HistoryFile = filepath.Join(home, ".hearth", "repl_history")
	cfg.unknown = nil
	if !reflect.DeepEqual(*cfg, want) {
		t.Errorf("defaults differ:\n got %+v\nwant %+v", *cfg, want)
	}
}

func TestPrecedence(t *testing.T) {
	const file = "log:\n  level: warn\nagent:\n  max_iterations: 20\n"
	tests := []struct {
		name      string
		file      string
		env       environ
		args      []string
		wantLevel string
		wantIter  int
	}{
		{name: "defaults", wantLevel: "info", wantIter: 10},
		{name: "file over defaults", file: file, wantLevel: "warn", wantIter: 20},
		{name: "env over defaults", env: environ{"HEARTH_LOG__LEVEL=error"}, wantLevel: "error", wantIter: 10},
		{name: "env over file", file: file, env: environ{"HEARTH_LOG__LEVEL=error", "HEARTH_AGENT__MAX_ITERATIONS=30"}, wantLevel: "error", wantIter: 30},
		{name: "flag over file", file: file, args: []string{"--log-level=debug"}, wantLevel: "debug", wantIter: 20},
		{name: "flag over env over file", file: file, env: environ{"HEARTH_LOG__LEVEL=error"}, args: []string{"--log-level", "debug"}, wantLevel: "debug", wantIter: 20},
		{name: "unset flag does not override", file: file, env: environ{"HEARTH_LOG__LEVEL=error"}, args: []string{}, wantLevel: "error", wantIter: 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, _ := mustLoad(t, LoadOptions{HomeDir: homeWith(t, tt.file), Environ: tt.env, Args: tt.args})
			if cfg.Log.Level != tt.wantLevel || cfg.Agent.MaxIterations != tt.wantIter {
				t.Errorf("log.level=%q agent.max_iterations=%d, want %q and %d",
					cfg.Log.Level, cfg.Agent.MaxIterations, tt.wantLevel, tt.wantIter)
			}
		})
	}
}

func TestFlags(t *testing.T) {
	home := homeWith(t, "llm:\n  model: from-file\n  base_url: http://file:1/v1\n")
	other := filepath.Join(t.TempDir(), "data")
	cfg, _ := mustLoad(t, LoadOptions{HomeDir: home, Args: []string{
		"--llm-model", "from-flag", "--llm-base-url", "http://127.0.0.1:9/v1", "--home", other,
	}})
	if cfg.LLM.Model != "from-flag" || cfg.LLM.BaseURL != "http://127.0.0.1:9/v1" || cfg.Home != other {
		t.Errorf("got model %q base_url %q home %q", cfg.LLM.Model, cfg.LLM.BaseURL, cfg.Home)
	}
	if cfg.Database.Path != filepath.Join(other, "hearth.db") {
		t.Errorf("database.path = %q, want under --home", cfg.Database.Path)
	}

	// A caller's flag set (a subcommand's) with an extra bound flag and
	// flags that are not config keys.
	fset := pflag.NewFlagSet("run", pflag.ContinueOnError)
	RegisterFlags(fset)
	fset.StringP("message", "m", "", "")
	fset.String("tz", "", "")
	if err := fset.SetAnnotation("tz", FlagKeyAnnotation, []string{"agent.timezone"}); err != nil {
		t.Fatal(err)
	}
	if err := fset.Parse([]string{"-m", "hi", "--tz", "Europe/Berlin"}); err != nil {
		t.Fatal(err)
	}
	cfg, warnings := mustLoad(t, LoadOptions{HomeDir: homeWith(t, ""), FlagSet: fset})
	if cfg.Agent.Timezone != "Europe/Berlin" || len(warnings) != 0 {
		t.Errorf("timezone %q warnings %v", cfg.Agent.Timezone, warnings)
	}

	if _, _, err := Load(LoadOptions{HomeDir: homeWith(t, ""), Args: []string{"--no-such-flag"}}); err == nil ||
		!strings.Contains(err.Error(), "no-such-flag") {
		t.Errorf("unknown flag: err = %v", err)
	}
}

func TestEnvNesting(t *testing.T) {
	cfg, warnings := mustLoad(t, LoadOptions{HomeDir: homeWith(t, ""), Environ: environ{
		"PATH=/usr/bin",
		"HEARTH_LLM__MODEL=llama3.2",
		"HEARTH_LLM__BASE_URL=http://127.0.0.1:11434/v1",
		"HEARTH_CHANNELS__TELEGRAM__TOKEN=123:abc",
		"HEARTH_CHANNELS__TELEGRAM__ALLOWLIST=42, @ann ,,7",
		"HEARTH_CHANNELS__WEBHOOK__ENABLED=true",
		"HEARTH_AGENT__TURN_TIMEOUT=90s",
		"HEARTH_AGENT__COMPACTION_THRESHOLD=0.5",
		"HEARTH_CHANNELS__WEBHOOK__MAX_BODY_BYTES=2048",
		"HEARTH_MASTER_KEY=not-a-config-key",
		"HEARTH_TEST_POSTGRES_URL=postgres://x@127.0.0.1/t",
		`HEARTH_LLM__FALLBACKS=[{"provider":"anthropic","api_key":"k","model":"claude"}]`,
	}})
	if len(warnings) != 0 {
		t.Errorf("warnings: %v", warnings)
	}
	checks := []struct {
		key       string
		got, want any
	}{
		{"llm.model", cfg.LLM.Model, "llama3.2"},
		{"llm.base_url", cfg.LLM.BaseURL, "http://127.0.0.1:11434/v1"},
		{"channels.telegram.token", cfg.Channels.Telegram.Token, "123:abc"},
		{"channels.telegram.allowlist", cfg.Channels.Telegram.Allowlist, []string{"42", "@ann", "7"}},
		{"channels.webhook.enabled", cfg.Channels.Webhook.Enabled, true},
		{"agent.turn_timeout", cfg.Agent.TurnTimeout, 90 * time.Second},
		{"agent.compaction_threshold", cfg.Agent.CompactionThreshold, 0.5},
		{"channels.webhook.max_body_bytes", cfg.Channels.Webhook.MaxBodyBytes, int64(2048)},
		{"llm.fallbacks", cfg.LLM.Fallbacks, []LLMEndpoint{{Provider: "anthropic", APIKey: "k", Model: "claude"}}},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %#v, want %#v", c.key, c.got, c.want)
		}
	}
}

func TestHome(t *testing.T) {
	tests := []struct {
		name     string
		env      environ
		args     []string
		wantHome func(userHome string) string
	}{
		{"default", nil, nil, func(h string) string { return filepath.Join(h, ".hearth") }},
		{"HEARTH_HOME", environ{"HEARTH_HOME=/srv/hearth"}, nil, func(string) string { return "/srv/hearth" }},
		{"tilde in HEARTH_HOME", environ{"HEARTH_HOME=~/bot"}, nil, func(h string) string { return filepath.Join(h, "bot") }},
		{"--home over HEARTH_HOME", environ{"HEARTH_HOME=/srv/hearth"}, []string{"--home=/opt/h"}, func(string) string { return "/opt/h" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			userHome := t.TempDir()
			cfg, _ := mustLoad(t, LoadOptions{HomeDir: userHome, Environ: tt.env, Args: tt.args})
			want := tt.wantHome(userHome)
			if cfg.Home != want || cfg.Channels.REPL.HistoryFile != filepath.Join(want, "repl_history") {
				t.Errorf("home %q history %q, want home %q", cfg.Home, cfg.Channels.REPL.HistoryFile, want)
			}
		})
	}
}

func TestConfigFileLocation(t *testing.T) {
	userHome := t.TempDir()
	dataDir := filepath.Join(t.TempDir(), "data")
	writeFile(t, filepath.Join(dataDir, "config.yaml"), "llm:\n  model: in-home\n")
	explicit := filepath.Join(t.TempDir(), "elsewhere.yaml")
	writeFile(t, explicit, "llm:\n  model: explicit\n")

	cfg, _ := mustLoad(t, LoadOptions{HomeDir: userHome, Environ: environ{"HEARTH_HOME=" + dataDir}})
	if cfg.LLM.Model != "in-home" {
		t.Errorf("$HEARTH_HOME/config.yaml not read: model %q", cfg.LLM.Model)
	}
	cfg, _ = mustLoad(t, LoadOptions{HomeDir: userHome, Environ: environ{"HEARTH_HOME=" + dataDir}, Args: []string{"--config", explicit}})
	if cfg.LLM.Model != "explicit" || cfg.Home != dataDir {
		t.Errorf("--config: model %q home %q", cfg.LLM.Model, cfg.Home)
	}

	missing := filepath.Join(t.TempDir(), "missing.yaml")
	_, _, err := Load(LoadOptions{HomeDir: userHome, Args: []string{"--config", missing}})
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), missing) {
		t.Errorf("explicit missing file: err = %v", err)
	}
}

func TestNullKeepsDefault(t *testing.T) {
	cfg, warnings := mustLoad(t, LoadOptions{HomeDir: homeWith(t, "agent:\n  max_iterations:\nllm:\n")})
	if cfg.Agent.MaxIterations != 10 || len(warnings) != 0 {
		t.Errorf("max_iterations %d warnings %v", cfg.Agent.MaxIterations, warnings)
	}
	// An empty file is an empty layer.
	mustLoad(t, LoadOptions{HomeDir: homeWith(t, "# nothing\n")})
}

func TestUnknownKeys(t *testing.T) {
	home := homeWith(t, `llm:
  modle: x
  fallbacks:
    - provider: openai
      modle: y
agent:
  max_iterations: 5
bogus: 1
`)
	cfg, warnings, err := Load(LoadOptions{HomeDir: home, Environ: environ{"HEARTH_LLM__MODLE=z", "HEARTH_LOG_LEVEL=debug"}})
	if err != nil {
		t.Fatalf("unknown keys must not fail Load: %v", err)
	}
	file := "config file " + filepath.Join(home, ".hearth", "config.yaml")
	want := []Warning{
		{Key: "bogus", Source: file},
		{Key: "llm.fallbacks[0].modle", Source: file},
		{Key: "llm.modle", Source: file},
		{Key: "llm.modle", Source: "environment variable HEARTH_LLM__MODLE"},
		{Key: "log_level", Source: "environment variable HEARTH_LOG_LEVEL"},
	}
	if !reflect.DeepEqual(warnings, want) {
		t.Errorf("warnings:\n got %v\nwant %v", warnings, want)
	}
	if cfg.Validate(false) != nil {
		t.Errorf("Validate(false) must ignore unknown keys: %v", cfg.Validate(false))
	}
	ps := problemsOf(t, cfg.Validate(true))
	if len(ps) != len(want) {
		t.Fatalf("strict problems: %v", ps)
	}
	for i, p := range ps {
		if p.Key != want[i].Key || p.Message != "unknown key" || p.Source != want[i].Source {
			t.Errorf("problem %d = %v", i, p)
		}
	}
}

func TestParseError(t *testing.T) {
	home := homeWith(t, "llm:\n  model: a\n  base_url: [unclosed\nagent:\n")
	_, _, err := Load(LoadOptions{HomeDir: home})
	path := filepath.Join(home, ".hearth", "config.yaml")
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "line ") {
		t.Fatalf("want an error naming %s and a line, got %v", path, err)
	}
	var ce *Error
	if errors.As(err, &ce) {
		t.Errorf("a parse error is not a validation error")
	}

	home = homeWith(t, "- just\n- a list\n")
	if _, _, err := Load(LoadOptions{HomeDir: home}); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("top-level list: %v", err)
	}
}

func TestWrongTypes(t *testing.T) {
	tests := []struct {
		name, file string
		env        environ
		key, msg   string
		source     string
	}{
		{"int from string", "agent:\n  max_parallel: lots\n", nil, "agent.max_parallel", `must be an integer, got "lots"`, "config file"},
		{"int from float", "agent:\n  max_parallel: 2.5\n", nil, "agent.max_parallel", "must be a whole number, got number 2.5", "config file"},
		{"int from env", "", environ{"HEARTH_AGENT__MAX_PARALLEL=lots"}, "agent.max_parallel", `must be an integer, got "lots"`, "environment variable HEARTH_AGENT__MAX_PARALLEL"},
		{"bool", "channels:\n  repl:\n    enabled: maybe\n", nil, "channels.repl.enabled", `must be true or false, got "maybe"`, "config file"},
		{"duration word", "agent:\n  turn_timeout: soon\n", nil, "agent.turn_timeout", `must be a duration such as "90s" or "5m", got "soon"`, "config file"},
		{"duration number", "agent:\n  turn_timeout: 300\n", nil, "agent.turn_timeout", `must be a duration such as "90s" or "5m", got number 300`, "config file"},
		{"string from number", "llm:\n  model: 7\n", nil, "llm.model", "must be a string, got number 7 (quote it)", "config file"},
		{"string from mapping", "llm:\n  model:\n    name: x\n", nil, "llm.model", "must be a string, got a mapping", "config file"},
		{"section from scalar", "llm: openai\n", nil, "llm", `must be a mapping of keys, got "openai"`, "config file"},
		{"list of strings", "channels:\n  slack:\n    allowlist: [a, 3]\n", nil, "channels.slack.allowlist", "must be a list of strings, got number 3 at position 2", "config file"},
		{"fallbacks not a list", "llm:\n  fallbacks: openai\n", nil, "llm.fallbacks", `must be a list of mappings, such as [{"provider":"openai","model":"m"}], got "openai"`, "config file"},
		{"fallback entry type", "llm:\n  fallbacks:\n    - provider: openai\n      max: x\n      model: [1]\n", nil, "llm.fallbacks[0].model", "must be a string, got a list", "config file"},
		{"secret not echoed", "channels:\n  telegram:\n    token: 123456789\n", nil, "channels.telegram.token", "must be a string (the value is secret and not shown)", "config file"},
		{"entry secret not echoed", "llm:\n  fallbacks:\n    - provider: openai\n      api_key: 987654321\n", nil, "llm.fallbacks[0].api_key", "must be a string (the value is secret and not shown)", "config file"},
		{"fallbacks env not json", "", environ{"HEARTH_LLM__FALLBACKS=openai"}, "llm.fallbacks", `must be a list of mappings, such as [{"provider":"openai","model":"m"}], got "openai"`, "environment variable HEARTH_LLM__FALLBACKS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := Load(LoadOptions{HomeDir: homeWith(t, tt.file), Environ: tt.env})
			ps := problemsOf(t, err)
			if len(ps) != 1 {
				t.Fatalf("want one problem, got %v", ps)
			}
			p := ps[0]
			if p.Key != tt.key || p.Message != tt.msg || !strings.HasPrefix(p.Source, tt.source) {
				t.Errorf("got %q, want key %q message %q source %q", p.Error(), tt.key, tt.msg, tt.source)
			}
			if strings.Contains(err.Error(), "123456789") || strings.Contains(err.Error(), "987654321") {
				t.Errorf("a secret value appears in %q", err.Error())
			}
			if !strings.HasPrefix(err.Error(), "invalid configuration: "+tt.key+": ") {
				t.Errorf("error text %q", err.Error())
			}
		})
	}
}

// A wrong value in a lower layer is reported even when a higher layer
// overrides the key, and every problem is reported, not only the first.
func TestAllProblemsCollected(t *testing.T) {
	home := homeWith(t, "agent:\n  max_parallel: lots\n  max_iterations: 0\nlog:\n  level: loud\n")
	_, _, err := Load(LoadOptions{HomeDir: home, Environ: environ{"HEARTH_AGENT__MAX_PARALLEL=4", "HEARTH_LLM__TIMEOUT=forever"}})
	ps := problemsOf(t, err)
	var keys []string
	for _, p := range ps {
		keys = append(keys, p.Key)
	}
	slices.Sort(keys)
	want := []string{"agent.max_iterations", "agent.max_parallel", "llm.timeout", "log.level"}
	if !slices.Equal(keys, want) {
		t.Errorf("problem keys %v, want %v (%v)", keys, want, err)
	}
	for _, p := range ps {
		if p.Key == "agent.max_iterations" {
			if p.Message != "must be between 1 and 100, got 0" || !strings.HasPrefix(p.Source, "config file ") {
				t.Errorf("max_iterations problem: %v", p)
			}
		}
	}
}

func TestEmptyHome(t *testing.T) {
	_, _, err := Load(LoadOptions{HomeDir: t.TempDir(), Environ: environ{"HEARTH_HOME="}})
	ps := problemsOf(t, err)
	if len(ps) != 1 || ps[0].Error() != "home: must not be empty (environment variable HEARTH_HOME)" {
		t.Errorf("problems: %v", ps)
	}
}

func BenchmarkLoad(b *testing.B) {
	home := b.TempDir()
	data, err := os.ReadFile(examplePath)
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(home, "config.yaml")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		b.Fatal(err)
	}
	opts := LoadOptions{HomeDir: home, Args: []string{"--config", path, "--llm-model", "m"},
		Environ: []string{"HEARTH_LLM__BASE_URL=http://127.0.0.1:1/v1", "HEARTH_CHANNELS__TELEGRAM__ALLOWLIST=1,2"}}
	for b.Loop() {
		if _, _, err := Load(opts); err != nil {
			b.Fatal(err)
		}
	}
}
