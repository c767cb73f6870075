package safety

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Action is what happens to content with a finding.
type Action string

// Actions, mildest first.
const (
	// ActionAllow: nothing found (in a verdict), or a rule switched off
	// (in config).
	ActionAllow Action = "allow"
	// ActionWarn annotates the content and logs; the text is unchanged.
	ActionWarn Action = "warn"
	// ActionSanitize neutralises the matched parts and keeps the rest.
	ActionSanitize Action = "sanitize"
	// ActionReview asks the owner before the model uses the content.
	ActionReview Action = "review"
	// ActionBlock replaces the content with a notice.
	ActionBlock Action = "block"
)

func (a Action) rank() int {
	switch a {
	case ActionAllow:
		return 0
	case ActionWarn:
		return 1
	case ActionSanitize:
		return 2
	case ActionReview:
		return 3
	}
	return 4
}

// ParseAction parses an action name; "off" is a synonym of allow.
func ParseAction(s string) (Action, error) {
	switch a := Action(strings.ToLower(strings.TrimSpace(s))); a {
	case ActionAllow, ActionWarn, ActionSanitize, ActionReview, ActionBlock:
		return a, nil
	case "off":
		return ActionAllow, nil
	}
	return "", fmt.Errorf("safety: unknown action %q (want block, sanitize, review, warn or allow)", s)
}

// sourceKinds are the content source kinds a policy may name.
var sourceKinds = []string{"user", "tool", "web", "mcp", "channel", "file"}

// SourceKinds lists the source kinds PolicyConfig.Sources accepts.
func SourceKinds() []string { return slices.Clone(sourceKinds) }

// PolicyConfig is the safety policy as configured (the `safety` section).
// Keys of Rules and of each Sources entry are rule ids or family names; a
// rule id wins over its family. The zero value applies the defaults:
// critical → block, high and medium → sanitize, low → warn.
type PolicyConfig struct {
	// Severity overrides the default action of a severity
	// (safety.severity.<low|medium|high|critical>: action).
	Severity map[string]string `koanf:"severity" json:"severity,omitempty" yaml:"severity,omitempty"`
	// Rules overrides the action of a rule or a family
	// (safety.rules.<rule-id>: action).
	Rules map[string]string `koanf:"rules" json:"rules,omitempty" yaml:"rules,omitempty"`
	// Sources overrides actions for one source kind
	// (safety.sources.<kind>.<rule-id>: action).
	Sources map[string]map[string]string `koanf:"sources" json:"sources,omitempty" yaml:"sources,omitempty"`
}

// Policy is a validated PolicyConfig. It is immutable and safe for
// concurrent use.
type Policy struct {
	bySeverity [Critical + 1]Action
	rules      []Action            // per ruleTable index; "" = severity default
	sources    map[string][]Action // per source kind, per ruleTable index
}

// defaultSeverityAction is the action of a severity unless configured
// otherwise.
func defaultSeverityAction(s Severity) Action {
	switch s {
	case Critical:
		return ActionBlock
	case High, Medium:
		return ActionSanitize
	}
	return ActionWarn
}

// Validate reports the first problem in c: an unknown severity, rule,
// family, source kind or action. The message names the offending key.
func (c PolicyConfig) Validate() error {
	_, err := NewPolicy(c)
	return err
}

// NewPolicy validates c and resolves it.
func NewPolicy(c PolicyConfig) (*Policy, error) {
	p := &Policy{rules: make([]Action, len(ruleTable)), sources: map[string][]Action{}}
	for s := Low; s <= Critical; s++ {
		p.bySeverity[s] = defaultSeverityAction(s)
	}
	for _, k := range sortedKeys(c.Severity) {
		s, err := ParseSeverity(k)
		if err != nil {
			return nil, fmt.Errorf("safety.severity.%s: %w", k, err)
		}
		a, err := ParseAction(c.Severity[k])
		if err != nil {
			return nil, fmt.Errorf("safety.severity.%s: %w", k, err)
		}
		p.bySeverity[s] = a
	}
	if err := applyOverrides(p.rules, c.Rules, "safety.rules"); err != nil {
		return nil, err
	}
	for _, kind := range sortedKeys(c.Sources) {
		if !slices.Contains(sourceKinds, kind) {
			return nil, fmt.Errorf("safety.sources.%s: unknown source kind (known: %s)", kind, strings.Join(sourceKinds, ", "))
		}
		acts := slices.Clone(p.rules)
		if err := applyOverrides(acts, c.Sources[kind], "safety.sources."+kind); err != nil {
			return nil, err
		}
		p.sources[kind] = acts
	}
	return p, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// applyOverrides applies family keys first, then rule keys.
func applyOverrides(acts []Action, m map[string]string, path string) error {
	keys := sortedKeys(m)
	for pass := 0; pass < 2; pass++ {
		for _, k := range keys {
			isFamily := slices.Contains(Families(), Family(k))
			if (pass == 0) != isFamily {
				continue
			}
			a, err := ParseAction(m[k])
			if err != nil {
				return fmt.Errorf("%s.%s: %w", path, k, err)
			}
			if isFamily {
				for i := range ruleTable {
					if ruleTable[i].Family == Family(k) {
						acts[i] = a
					}
				}
				continue
			}
			i := ruleIndex(k)
			if i < 0 {
				return fmt.Errorf("%s.%s: unknown rule or family (rule ids are listed in docs/security.md; families: %s)", path, k, familyList())
			}
			acts[i] = a
		}
	}
	return nil
}

func familyList() string {
	var s []string
	for _, f := range Families() {
		s = append(s, string(f))
	}
	return strings.Join(s, ", ")
}

// ActionFor returns the action for a rule id in content of a source kind.
// Unknown rules get block (fail closed).
func (p *Policy) ActionFor(rule, kind string) Action {
	i := ruleIndex(rule)
	if i < 0 {
		return ActionBlock
	}
	return p.action(i, kind)
}

func (p *Policy) action(i int, kind string) Action {
	acts := p.rules
	if s, ok := p.sources[kind]; ok {
		acts = s
	}
	if a := acts[i]; a != "" {
		return a
	}
	return p.bySeverity[ruleTable[i].Severity]
}
