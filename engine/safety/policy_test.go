package safety

import (
	"strings"
	"testing"
)

func TestPolicyDefaults(t *testing.T) {
	p, err := NewPolicy(PolicyConfig{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range Rules() {
		want := map[Severity]Action{Low: ActionWarn, Medium: ActionSanitize, High: ActionSanitize, Critical: ActionBlock}[r.Severity]
		if got := p.ActionFor(r.ID, "web"); got != want {
			t.Errorf("%s (%s): %s, want %s", r.ID, r.Severity, got, want)
		}
	}
	if got := p.ActionFor("no-such-rule", "web"); got != ActionBlock {
		t.Errorf("unknown rule: %s, want block (fail closed)", got)
	}
}

func TestPolicyOverrides(t *testing.T) {
	p, err := NewPolicy(PolicyConfig{
		Severity: map[string]string{"high": "review"},
		Rules: map[string]string{
			"shell":               "warn",  // a family
			RulePipeToShell:       "block", // a rule wins over its family
			RuleStealth:           "off",
			RuleControlToken:      "Block", // case does not matter
			RuleEncodedText:       " allow ",
			RuleMixedScript:       "sanitize",
			RuleExfilImageData:    "review",
			RuleFakeNotice:        "warn",
			RuleBlockDelimiter:    "sanitize",
			RuleInvisibleRun:      "block",
			RuleDecodeAndFollow:   "warn",
			RuleExfilLinkTemplate: "block",
		},
		Sources: map[string]map[string]string{
			"user": {"override": "warn", RulePipeToShell: "allow"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		rule, kind string
		want       Action
	}{
		{RuleIgnorePrevious, "web", ActionReview},   // severity default changed
		{RuleIgnorePrevious, "user", ActionWarn},    // family override for the source
		{RuleReverseShell, "web", ActionWarn},       // family override
		{RulePipeToShell, "web", ActionBlock},       // rule beats family
		{RulePipeToShell, "user", ActionAllow},      // source beats global
		{RuleStealth, "web", ActionAllow},           // off
		{RuleControlToken, "tool", ActionBlock},     // case-insensitive value
		{RuleEncodedText, "web", ActionAllow},       // trimmed value
		{RuleZeroWidth, "web", ActionSanitize},      // untouched medium rule
		{RuleBlockDelimiter, "web", ActionSanitize}, // critical overridden
	}
	for _, tt := range tests {
		if got := p.ActionFor(tt.rule, tt.kind); got != tt.want {
			t.Errorf("%s/%s = %s, want %s", tt.rule, tt.kind, got, tt.want)
		}
	}
}

func TestPolicyValidation(t *testing.T) {
	tests := []struct {
		name string
		cfg  PolicyConfig
		want string
	}{
		{"unknown rule", PolicyConfig{Rules: map[string]string{"override-nope": "block"}}, "safety.rules.override-nope: unknown rule"},
		{"unknown action", PolicyConfig{Rules: map[string]string{RuleStealth: "explode"}}, `safety.rules.override-stealth: safety: unknown action "explode"`},
		{"unknown severity", PolicyConfig{Severity: map[string]string{"severe": "block"}}, "safety.severity.severe"},
		{"bad severity action", PolicyConfig{Severity: map[string]string{"low": "maybe"}}, "safety.severity.low"},
		{"unknown source", PolicyConfig{Sources: map[string]map[string]string{"email": {"shell": "warn"}}}, "safety.sources.email: unknown source kind"},
		{"unknown rule in source", PolicyConfig{Sources: map[string]map[string]string{"web": {"x": "warn"}}}, "safety.sources.web.x: unknown rule"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
			if _, err := New(Options{Policy: tt.cfg}); err == nil {
				t.Fatal("New accepted an invalid policy")
			}
		})
	}
}

func TestRuleIDsAreConfigKeys(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range Rules() {
		if strings.ContainsAny(r.ID, ". ") || r.ID != strings.ToLower(r.ID) {
			t.Errorf("rule id %q cannot be a dotted config key", r.ID)
		}
		if seen[r.ID] {
			t.Errorf("duplicate rule id %q", r.ID)
		}
		seen[r.ID] = true
		if !strings.HasPrefix(r.ID, string(r.Family)+"-") {
			t.Errorf("rule %q does not start with its family %q", r.ID, r.Family)
		}
		if r.Summary == "" || r.Severity < Low || r.Severity > Critical {
			t.Errorf("rule %q lacks a summary or severity", r.ID)
		}
	}
}
