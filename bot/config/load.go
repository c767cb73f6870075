package config

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"

	"github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/confmap"
	"github.com/knadh/koanf/providers/env/v2"
	"github.com/knadh/koanf/providers/file"
	"github.com/knadh/koanf/providers/posflag"
	"github.com/knadh/koanf/v2"
	"github.com/spf13/pflag"
)

// Names of the flags RegisterFlags defines.
const (
	FlagConfig     = "config"
	FlagHome       = "home"
	FlagLogLevel   = "log-level"
	FlagLLMModel   = "llm-model"
	FlagLLMBaseURL = "llm-base-url"
)

// EnvPrefix starts every environment variable that sets a key;
// "__" separates sections: HEARTH_LLM__BASE_URL sets llm.base_url.
const EnvPrefix = "HEARTH_"

// FlagKeyAnnotation is the pflag annotation that binds a flag to a config
// key. RegisterFlags sets it; a caller can bind more flags the same way:
// fs.SetAnnotation("agent-timezone", FlagKeyAnnotation, []string{"agent.timezone"}).
const FlagKeyAnnotation = "hearth.config.key"

// reservedEnv reports whether a HEARTH_ variable is read by another package
// and is not a config key (HEARTH_HOME is: it sets the key home): the
// master key, and HEARTH_TEST_* variables of the test setup.
func reservedEnv(name string) bool {
	return name == "HEARTH_MASTER_KEY" || strings.HasPrefix(name, "HEARTH_TEST_")
}

// RegisterFlags defines the common configuration flags on fs: --config,
// --home, --log-level, --llm-model and --llm-base-url. Only flags given on
// the command line override the file and the environment.
func RegisterFlags(fs *pflag.FlagSet) {
	fs.String(FlagConfig, "", "config file (default $HEARTH_HOME/config.yaml)")
	fs.String(FlagHome, "", "data directory, key home (env HEARTH_HOME, default ~/.hearth)")
	fs.String(FlagLogLevel, "", "log level: debug, info, warn, error (key log.level)")
	fs.String(FlagLLMModel, "", "model name (key llm.model)")
	fs.String(FlagLLMBaseURL, "", "LLM API base URL (key llm.base_url)")
	for name, key := range map[string]string{
		FlagHome: "home", FlagLogLevel: "log.level", FlagLLMModel: "llm.model", FlagLLMBaseURL: "llm.base_url",
	} {
		_ = fs.SetAnnotation(name, FlagKeyAnnotation, []string{key}) // the flag was just defined
	}
}

// LoadOptions are the inputs of Load. Nothing is read from the process
// environment: the caller passes it.
type LoadOptions struct {
	// Args are command-line arguments, parsed with a flag set made by
	// RegisterFlags when FlagSet is nil, or with FlagSet when it is given
	// and not yet parsed.
	Args []string
	// FlagSet holds the flags of RegisterFlags (and any flag annotated
	// with FlagKeyAnnotation); only flags set on the command line count.
	FlagSet *pflag.FlagSet
	// Environ is the environment as KEY=value strings (os.Environ()).
	// Nil is an empty environment.
	Environ []string
	// HomeDir is the user's home directory, for "~". Empty: os.UserHomeDir.
	HomeDir string
}

// Warning is a problem that does not stop Hearth: an unknown key.
type Warning struct {
	// Key is the unknown key as written (lower-cased from the environment).
	Key string
	// Source is where it was set: a config file or an environment variable.
	Source string
}

// String renders the warning for a log line.
func (w Warning) String() string {
	return w.Key + ": unknown key (" + w.Source + ")"
}

// layer is one source of values.
type layer struct {
	k *koanf.Koanf
	// source names where a key was set.
	source func(key string) string
}

// Load reads the configuration from defaults, the config file, the
// environment and the flags, in increasing precedence, resolves paths,
// and validates it. It returns the unknown keys as warnings. The error is
// an *Error listing every invalid key, or a plain error for a config file
// that cannot be read or parsed (naming the file and the parser's line).
func Load(opts LoadOptions) (*Config, []Warning, error) {
	fset, err := flagSet(opts)
	if err != nil {
		return nil, nil, err
	}
	homeDir := opts.HomeDir
	if homeDir == "" {
		if homeDir, err = os.UserHomeDir(); err != nil {
			return nil, nil, fmt.Errorf("config: finding the home directory: %w", err)
		}
	}
	sch := configSchema()

	path, explicit := configPath(fset, opts.Environ, homeDir)
	fileLayer, err := loadFile(path, explicit)
	if err != nil {
		return nil, nil, err
	}
	envLayer, err := loadEnv(sch, opts.Environ)
	if err != nil {
		return nil, nil, err
	}
	flagLayer, err := loadFlags(fset)
	if err != nil {
		return nil, nil, err
	}
	layers := []layer{fileLayer, envLayer, flagLayer}

	var warnings []Warning
	var problems []Problem
	for _, l := range layers {
		warnings = append(warnings, unknownKeys(sch, l)...)
		// Decode each layer alone, so a wrong type is reported with the
		// place it was written even when a later layer overrides it.
		_, ps := decode(l.k)
		for _, p := range ps {
			p.Source = l.source(baseKey(p.Key))
			problems = append(problems, p)
		}
		problems = hideSecrets(sch, problems)
	}

	merged := koanf.New(".")
	d := Default()
	if err := merged.Load(confmap.Provider(toMap(reflect.ValueOf(d)), ""), nil); err != nil {
		return nil, nil, fmt.Errorf("config: loading defaults: %w", err)
	}
	for _, l := range layers {
		if err := merged.Merge(l.k); err != nil {
			return nil, nil, fmt.Errorf("config: merging: %w", err)
		}
	}
	cfg, ps := decode(merged)
	problems = appendNew(problems, hideSecrets(sch, ps))
	nilEmptyLists(reflect.ValueOf(&cfg).Elem())
	cfg.resolvePaths(homeDir)
	cfg.unknown = warnings

	for _, p := range cfg.check() {
		if coveredBy(problems, p.Key) {
			continue // the value did not decode; one problem per key
		}
		p.Source = originOf(layers, baseKey(p.Key))
		problems = append(problems, p)
	}
	if len(problems) > 0 {
		return nil, warnings, &Error{Problems: problems}
	}
	return &cfg, warnings, nil
}

// flagSet returns the parsed flag set of opts.
func flagSet(opts LoadOptions) (*pflag.FlagSet, error) {
	fset := opts.FlagSet
	if fset == nil {
		fset = pflag.NewFlagSet("hearth", pflag.ContinueOnError)
		fset.SetOutput(io.Discard) // errors are returned, not printed
		RegisterFlags(fset)
	}
	if !fset.Parsed() && opts.Args != nil {
		if err := fset.Parse(opts.Args); err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
	}
	return fset, nil
}

// configPath returns the config file's path and whether it was named
// explicitly (--config) rather than found in HEARTH_HOME.
func configPath(fset *pflag.FlagSet, environ []string, homeDir string) (string, bool) {
	if f := fset.Lookup(FlagConfig); f != nil && f.Changed {
		return expandHome(f.Value.String(), homeDir), true
	}
	home := Default().Home
	if v, ok := lookupEnv(environ, "HEARTH_HOME"); ok && v != "" {
		home = v
	}
	if f := fset.Lookup(FlagHome); f != nil && f.Changed {
		home = f.Value.String()
	}
	return filepath.Join(expandHome(home, homeDir), "config.yaml"), false
}

// lookupEnv finds name in a KEY=value list; the last one wins, as in exec.
func lookupEnv(environ []string, name string) (string, bool) {
	val, found := "", false
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && k == name {
			val, found = v, true
		}
	}
	return val, found
}

// expandHome replaces a leading "~" or "~/" with homeDir.
func expandHome(p, homeDir string) string {
	if p == "~" {
		return homeDir
	}
	if rest, ok := strings.CutPrefix(p, "~/"); ok {
		return filepath.Join(homeDir, rest)
	}
	return p
}

// loadFile reads the YAML config file. A missing file is an empty layer
// unless it was named explicitly. A key written without a value (null)
// leaves the lower layer's value.
func loadFile(path string, explicit bool) (layer, error) {
	k := koanf.New(".")
	src := "config file " + path
	l := layer{k: k, source: func(string) string { return src }}
	if _, err := os.Stat(path); err != nil {
		if errors.Is(err, fs.ErrNotExist) && !explicit {
			return l, nil
		}
		if errors.Is(err, fs.ErrNotExist) {
			return l, fmt.Errorf("config file %s does not exist: %w", path, fs.ErrNotExist)
		}
		return l, fmt.Errorf("config file %s: %w", path, err)
	}
	if err := k.Load(file.Provider(path), yaml.Parser()); err != nil {
		return l, fmt.Errorf("config file %s: %w", path, err)
	}
	for key, v := range k.All() {
		if v == nil {
			k.Delete(key)
		}
	}
	return l, nil
}

// loadEnv reads HEARTH_* variables: the prefix is removed, "__" separates
// sections and the rest is lower-cased. Lists are comma-separated, and
// llm.fallbacks is JSON.
func loadEnv(sch schema, environ []string) (layer, error) {
	k := koanf.New(".")
	names := map[string]string{}
	p := env.Provider(".", env.Opt{
		Prefix:      EnvPrefix,
		EnvironFunc: func() []string { return environ },
		TransformFunc: func(name, value string) (string, any) {
			if reservedEnv(name) {
				return "", nil
			}
			key := strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(name, EnvPrefix), "__", "."))
			if key == "" || strings.HasPrefix(key, ".") || strings.HasSuffix(key, ".") || strings.Contains(key, "..") {
				key = strings.ToLower(name) // malformed: reported as unknown as written
			}
			names[key] = name
			if f, ok := sch.byKey[key]; ok && f.entry != nil {
				if list, err := parseEntryList(value); err == nil {
					return key, list
				}
			}
			return key, value
		},
	})
	if err := k.Load(p, nil); err != nil {
		return layer{}, fmt.Errorf("config: reading the environment: %w", err)
	}
	return layer{k: k, source: func(key string) string {
		if n, ok := names[key]; ok {
			return "environment variable " + n
		}
		return "environment"
	}}, nil
}

// loadFlags reads the flags bound to keys that were set.
func loadFlags(fset *pflag.FlagSet) (layer, error) {
	k := koanf.New(".")
	names := map[string]string{}
	p := posflag.ProviderWithFlag(fset, ".", nil, func(f *pflag.Flag) (string, any) {
		keys := f.Annotations[FlagKeyAnnotation]
		if len(keys) != 1 {
			return "", nil
		}
		names[keys[0]] = "--" + f.Name
		return keys[0], posflag.FlagVal(fset, f)
	})
	if err := k.Load(p, nil); err != nil {
		return layer{}, fmt.Errorf("config: reading flags: %w", err)
	}
	return layer{k: k, source: func(key string) string {
		if n, ok := names[key]; ok {
			return "flag " + n
		}
		return "flags"
	}}, nil
}

// unknownKeys lists the keys of a layer that the schema does not know.
// A value under a known leaf ("llm.model.x") is a type error the decoder
// reports, not an unknown key.
func unknownKeys(sch schema, l layer) []Warning {
	var out []Warning
	for _, key := range l.k.Keys() {
		f, known := sch.byKey[key]
		switch {
		case known && f.entry != nil:
			list, _ := l.k.Get(key).([]any)
			for i, e := range list {
				m, _ := e.(map[string]any)
				for _, ek := range sortedKeys(m) {
					if !slices.ContainsFunc(f.entry, func(ef field) bool { return ef.key == ek }) {
						out = append(out, Warning{Key: fmt.Sprintf("%s[%d].%s", key, i, ek), Source: l.source(key)})
					}
				}
			}
		case known, sch.sections[key], sch.leafUnder(key) != "":
		default:
			out = append(out, Warning{Key: key, Source: l.source(key)})
		}
	}
	return out
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// hideSecrets rewrites the type problems of secret keys so that they do
// not quote the value.
func hideSecrets(sch schema, problems []Problem) []Problem {
	for i, p := range problems {
		if sch.isSecret(p.Key) {
			problems[i].Message = "must be a string (the value is secret and not shown)"
		}
	}
	return problems
}

// appendNew adds the problems whose keys are not reported yet.
func appendNew(problems, more []Problem) []Problem {
	for _, p := range more {
		if !coveredBy(problems, p.Key) {
			problems = append(problems, p)
		}
	}
	return problems
}

// coveredBy reports whether a problem was already reported for key, for
// a section containing it, or for an entry of it.
func coveredBy(problems []Problem, key string) bool {
	for _, p := range problems {
		if p.Key == key || strings.HasPrefix(key, p.Key+".") || strings.HasPrefix(key, p.Key+"[") ||
			strings.HasPrefix(p.Key, key+"[") || p.Key == "(top level)" {
			return true
		}
	}
	return false
}

// originOf names the highest layer that set key, or "" for a default.
func originOf(layers []layer, key string) string {
	for i := len(layers) - 1; i >= 0; i-- {
		if layers[i].k.Exists(key) {
			return layers[i].source(key)
		}
	}
	return ""
}

// resolvePaths expands "~" and fills the paths that default to HEARTH_HOME.
// An empty home is left for check to report.
func (c *Config) resolvePaths(homeDir string) {
	if strings.TrimSpace(c.Home) == "" {
		return
	}
	c.Home = filepath.Clean(expandHome(c.Home, homeDir))
	if c.Database.Path == "" {
		c.Database.Path = filepath.Join(c.Home, "hearth.db")
	}
	c.Database.Path = expandHome(c.Database.Path, homeDir)
	if c.Channels.REPL.HistoryFile == "" {
		c.Channels.REPL.HistoryFile = filepath.Join(c.Home, "repl_history")
	}
	c.Channels.REPL.HistoryFile = expandHome(c.Channels.REPL.HistoryFile, homeDir)
}
