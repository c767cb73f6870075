package config

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// Every field whose name suggests a credential must say explicitly
// whether it is one, so a new secret key cannot be added unredacted.
func TestSecretFieldsTagged(t *testing.T) {
	suspicious := []string{"key", "token", "secret", "password"}
	var check func(prefix string, fields []field)
	seen := 0
	check = func(prefix string, fields []field) {
		for _, f := range fields {
			key := prefix + f.key
			switch f.secret {
			case "true", "url":
				seen++
				if f.typ.Kind() != reflect.String {
					t.Errorf("%s: secret tag on a %s; only strings can be redacted", key, f.typ)
				}
			case "false", "":
			default:
				t.Errorf("%s: secret tag %q, want true, url or false", key, f.secret)
			}
			last := key[strings.LastIndex(key, ".")+1:]
			for _, word := range suspicious {
				if strings.Contains(last, word) && f.secret == "" {
					t.Errorf("%s: name contains %q but the field has no secret tag (true, url, or false if reviewed)", key, word)
				}
			}
			if f.entry != nil {
				check(key+"[].", f.entry)
			}
		}
	}
	check("", configSchema().leaves)
	if seen < 11 {
		t.Errorf("only %d secret fields found; the walk is missing some", seen)
	}
}

// secretConfig returns a valid config with every secret field set to a
// value that contains "SENSITIVE".
func secretConfig(t *testing.T) *Config {
	t.Helper()
	cfg := validConfig(t)
	cfg.LLM.Fallbacks = []LLMEndpoint{{Provider: "openai", Model: "m"}, {Provider: "anthropic"}}
	var fill func(v reflect.Value, prefix string)
	fill = func(v reflect.Value, prefix string) {
		for i := range v.NumField() {
			sf := v.Type().Field(i)
			if !sf.IsExported() {
				continue
			}
			fv := v.Field(i)
			name := prefix + sf.Tag.Get("koanf")
			switch {
			case sf.Type.Kind() == reflect.Struct && sf.Type != durationType:
				fill(fv, name+".")
			case isEntryList(sf.Type):
				for j := range fv.Len() {
					fill(fv.Index(j), name+"[].")
				}
			case sf.Tag.Get("secret") == "true":
				fv.SetString("SENSITIVE-" + name)
			}
		}
	}
	fill(reflect.ValueOf(cfg).Elem(), "")
	cfg.Database.URL = "postgres://hearth:SENSITIVE-pw@db:5432/hearth?sslmode=require&password=SENSITIVE-q"
	cfg.LLM.Fallbacks[1].APIKey = "" // an empty secret stays empty
	return cfg
}

func TestShowRedacts(t *testing.T) {
	cfg := secretConfig(t)
	for _, format := range []string{"yaml", "json"} {
		t.Run(format, func(t *testing.T) {
			var buf bytes.Buffer
			if err := cfg.Show(&buf, format); err != nil {
				t.Fatal(err)
			}
			out := buf.String()
			if strings.Contains(out, "SENSITIVE") {
				t.Errorf("a secret value leaked:\n%s", out)
			}
			for _, want := range []string{"***", "postgres://hearth:***@db:5432/hearth?sslmode=require&password=***", "127.0.0.1:8787", "mention"} {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
			if got := strings.Count(out, "***"); got != 12 {
				t.Errorf("%d redactions, want 12 (10 non-empty secret fields, 2 in database.url):\n%s", got, out)
			}
		})
	}
	if !strings.Contains(cfg.LLM.APIKey, "SENSITIVE") || !strings.Contains(cfg.LLM.Fallbacks[0].APIKey, "SENSITIVE") {
		t.Error("Show changed the config it printed")
	}
}

// The YAML that Show prints is a valid config file that loads back to the
// same configuration (secrets aside).
func TestShowRoundTrip(t *testing.T) {
	cfg := validConfig(t)
	cfg.LLM.Fallbacks = []LLMEndpoint{{Provider: "openai", Model: "m", BaseURL: "http://127.0.0.1:1/v1"}}
	cfg.Channels.Telegram.Allowlist = []string{"42", "@ann"}
	var buf bytes.Buffer
	if err := cfg.Show(&buf, "yaml"); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "shown.yaml")
	writeFile(t, path, buf.String())
	back, warnings := mustLoad(t, LoadOptions{HomeDir: t.TempDir(), Args: []string{"--config", path}})
	if len(warnings) != 0 {
		t.Errorf("warnings: %v", warnings)
	}
	back.unknown, cfg.unknown = nil, nil
	if !reflect.DeepEqual(back, cfg) {
		t.Errorf("round trip differs:\n%s", buf.String())
	}

	var js map[string]any
	buf.Reset()
	if err := cfg.Show(&buf, "json"); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(buf.Bytes(), &js); err != nil {
		t.Fatalf("json output: %v\n%s", err, buf.String())
	}
	if js["agent"].(map[string]any)["turn_timeout"] != "5m" {
		t.Errorf("json agent.turn_timeout = %v", js["agent"].(map[string]any)["turn_timeout"])
	}
	if err := cfg.Show(&buf, "toml"); err == nil {
		t.Error("unknown format accepted")
	}
}

func TestRedactURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"postgres://u:p@h/db", "postgres://u:***@h/db"},
		{"postgres://u:p%40ss@h:5432/db?sslmode=disable", "postgres://u:***@h:5432/db?sslmode=disable"},
		{"postgres://u@h/db", "postgres://u@h/db"},
		{"postgres://h/db?user=u&password=p", "postgres://h/db?user=u&password=***"},
		{"postgres://h/db?PassWord=p&sslpassword=q", "postgres://h/db?PassWord=***&sslpassword=***"},
		{"host=h user=u password=p dbname=d", "host=h user=u password=*** dbname=d"},
		{"host=h password='a b\\' c' dbname=d", "host=h password=*** dbname=d"},
		{"gibberish with no structure", "***"},
		{"postgres://u:p@[bad", "***"},
	}
	for _, tt := range tests {
		if got := redactURL(tt.in); got != tt.want {
			t.Errorf("redactURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestFormatDuration(t *testing.T) {
	for in, want := range map[string]string{"2m": "2m", "1h": "1h", "1h30m": "1h30m", "90s": "1m30s", "0s": "0s", "1h0m5s": "1h0m5s", "10m": "10m"} {
		d, err := time.ParseDuration(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := formatDuration(d); got != want {
			t.Errorf("formatDuration(%s) = %s, want %s", in, got, want)
		}
	}
}
