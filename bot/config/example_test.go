package config

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"testing"

	kyaml "github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/confmap"
	"github.com/knadh/koanf/providers/file"
	"github.com/knadh/koanf/v2"
	"go.yaml.in/yaml/v3"
)

// examplePath is config.example.yaml at the repository root.
const examplePath = "../../config.example.yaml"

// The example file documents every key, each with a comment, each set to
// its default, and nothing else: it cannot drift from the struct.
func TestExampleInSync(t *testing.T) {
	abs, err := filepath.Abs(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	cfg, warnings, err := Load(LoadOptions{HomeDir: home, Args: []string{"--config", abs}})
	if err != nil {
		t.Fatalf("example does not load: %v", err)
	}
	if len(warnings) != 0 {
		t.Errorf("example has unknown keys: %v", warnings)
	}
	if err := cfg.Validate(true); err != nil {
		t.Errorf("example does not validate: %v", err)
	}

	// Every value is the default.
	defaults, _ := mustLoad(t, LoadOptions{HomeDir: home})
	cfg.unknown, defaults.unknown = nil, nil
	if d := diffKeys(cfg, defaults); len(d) != 0 || !reflect.DeepEqual(cfg, defaults) {
		t.Errorf("example values differ from Default() at %v", d)
	}

	// The keys are exactly the struct's keys.
	k := koanf.New(".")
	if err := k.Load(file.Provider(abs), kyaml.Parser()); err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, f := range configSchema().leaves {
		want = append(want, f.key)
	}
	slices.Sort(want)
	if got := k.Keys(); !slices.Equal(got, want) {
		t.Errorf("example keys differ from the struct:\n only in example: %v\n only in struct:  %v",
			minus(got, want), minus(want, got))
	}

	raw, err := os.ReadFile(abs)
	if err != nil {
		t.Fatal(err)
	}
	// The fields of list entries (llm.fallbacks) are shown in a comment.
	for _, f := range configSchema().leaves {
		for _, ef := range f.entry {
			re := regexp.MustCompile(`(?m)^\s*#\s*(-\s*)?` + regexp.QuoteMeta(ef.key) + `:`)
			if !re.Match(raw) {
				t.Errorf("example does not document %s[].%s", f.key, ef.key)
			}
		}
	}

	// Every key has its own comment.
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	var walk func(n *yaml.Node, prefix string)
	walk = func(n *yaml.Node, prefix string) {
		for i := 0; i+1 < len(n.Content); i += 2 {
			key, val := n.Content[i], n.Content[i+1]
			name := prefix + key.Value
			if val.Kind == yaml.MappingNode {
				walk(val, name+".")
				continue
			}
			if key.HeadComment == "" && key.LineComment == "" {
				t.Errorf("example: %s has no comment", name)
			}
		}
	}
	walk(doc.Content[0], "")
}

// diffKeys lists the keys whose values differ between two configs.
func diffKeys(a, b *Config) []string {
	fa, fb := flat(a), flat(b)
	var out []string
	for k, v := range fa {
		if !reflect.DeepEqual(v, fb[k]) {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

func flat(c *Config) map[string]any {
	k := koanf.New(".")
	_ = k.Load(confmap.Provider(toMap(reflect.ValueOf(*c)), ""), nil)
	return k.All()
}

func minus(a, b []string) []string {
	var out []string
	for _, s := range a {
		if !slices.Contains(b, s) {
			out = append(out, s)
		}
	}
	return out
}
