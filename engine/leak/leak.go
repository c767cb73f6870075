// Package leak finds credentials in text: well-known key formats (OpenAI,
// Anthropic, AWS, GitHub, Slack, Stripe, Google, PEM and SSH private keys,
// bearer and basic authorization, JWTs, passwords in URLs, high-entropy
// hex) and the exact values of the secrets Hearth stores, together with
// their base64, URL-encoded and hex forms.
//
// A Detector scans in one pass over the text: every position is checked
// against a byte table of rule triggers, a two-byte filter of stored
// secret prefixes, and a running hex-run tracker, so the cost grows with
// the length of the text and not with the number of rules or secrets.
// There are no regular expressions and no backtracking.
//
// Each finding carries the action its rule maps to: block (refuse the
// whole text or request), redact (replace the match) or warn (record
// only). The sandbox blocks HTTP requests and responses that carry
// secrets, and redacts tool output; the safety layer uses the same
// detector on outbound chat messages.
package leak

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// Action is what a finding asks the caller to do.
type Action string

// Actions, from the mildest to the strictest.
const (
	// ActionWarn records the finding and leaves the text alone.
	ActionWarn Action = "warn"
	// ActionRedact replaces the matched span with a marker.
	ActionRedact Action = "redact"
	// ActionBlock refuses the text (or the request carrying it) entirely;
	// Redact still replaces the span so a blocked text is never shown.
	ActionBlock Action = "block"
)

// rank orders actions by strictness; unknown actions rank as block so a
// typo fails closed.
func (a Action) rank() int {
	switch a {
	case ActionWarn:
		return 1
	case ActionRedact:
		return 2
	}
	return 3
}

// Valid reports whether a is one of the three actions.
func (a Action) Valid() bool {
	return a == ActionWarn || a == ActionRedact || a == ActionBlock
}

// Rule names, as they appear in Finding.Rule and in Options.
const (
	RuleStoredSecret     = "stored_secret"
	RuleOpenAI           = "openai_key"
	RuleAnthropic        = "anthropic_key"
	RuleAWSAccessKey     = "aws_access_key"
	RuleAWSSecretKey     = "aws_secret_key"
	RuleGitHub           = "github_token"
	RuleSlack            = "slack_token"
	RuleSlackWebhook     = "slack_webhook"
	RuleStripe           = "stripe_key"
	RuleGoogleAPIKey     = "google_api_key"
	RuleGoogleOAuth      = "google_oauth"
	RulePrivateKey       = "private_key"
	RuleSSHPrivateKey    = "ssh_private_key"
	RuleBearer           = "bearer_token"
	RuleBasicAuth        = "basic_auth"
	RuleJWT              = "jwt"
	RuleURLPassword      = "url_password"
	RuleHighEntropyHex   = "high_entropy_hex"
	defaultMinSecretLen  = 8
	defaultHexMinLen     = 32
	defaultHexMinEntropy = 3.0
)

// defaultActions is the action of every rule unless Options overrides it.
// Stored secrets are blocked; credential formats are redacted; long hex
// only warns, because commit ids and checksums look exactly like it.
var defaultActions = map[string]Action{
	RuleStoredSecret:   ActionBlock,
	RuleOpenAI:         ActionRedact,
	RuleAnthropic:      ActionRedact,
	RuleAWSAccessKey:   ActionRedact,
	RuleAWSSecretKey:   ActionRedact,
	RuleGitHub:         ActionRedact,
	RuleSlack:          ActionRedact,
	RuleSlackWebhook:   ActionRedact,
	RuleStripe:         ActionRedact,
	RuleGoogleAPIKey:   ActionRedact,
	RuleGoogleOAuth:    ActionRedact,
	RulePrivateKey:     ActionRedact,
	RuleSSHPrivateKey:  ActionRedact,
	RuleBearer:         ActionRedact,
	RuleBasicAuth:      ActionRedact,
	RuleJWT:            ActionRedact,
	RuleURLPassword:    ActionRedact,
	RuleHighEntropyHex: ActionWarn,
}

// Rules lists every rule name, sorted.
func Rules() []string {
	out := make([]string, 0, len(defaultActions))
	for r := range defaultActions {
		out = append(out, r)
	}
	slices.Sort(out)
	return out
}

// DefaultAction is the action a rule has when Options does not override
// it; block for an unknown rule.
func DefaultAction(rule string) Action {
	if a, ok := defaultActions[rule]; ok {
		return a
	}
	return ActionBlock
}

// Finding is one match. Start and End are byte offsets into the scanned
// text (End exclusive). SecretName is set for RuleStoredSecret.
type Finding struct {
	Rule       string `json:"rule"`
	Start      int    `json:"start"`
	End        int    `json:"end"`
	SecretName string `json:"secret_name,omitempty"`
	Action     Action `json:"action"`
}

// Options configure a Detector. The zero value is usable.
type Options struct {
	// Actions overrides the action of individual rules.
	Actions map[string]Action
	// Disabled turns rules off entirely (no finding at all).
	Disabled []string
	// MinSecretLen is the shortest stored secret value that is matched
	// (default 8); shorter values would match ordinary words. The secrets
	// package refuses to store shorter values.
	MinSecretLen int
	// HexMinLen is the shortest hex run reported (default 32).
	HexMinLen int
	// HexMinEntropy is the least Shannon entropy, in bits per character,
	// of a reported hex run (default 3.0; the maximum is 4).
	HexMinEntropy float64
}

// Validate reports unknown rule names and actions.
func (o Options) Validate() error {
	for rule, a := range o.Actions {
		if _, ok := defaultActions[rule]; !ok {
			return fmt.Errorf("leak: actions: unknown rule %q (known: %s)", rule, strings.Join(Rules(), ", "))
		}
		if !a.Valid() {
			return fmt.Errorf("leak: actions.%s: unknown action %q (want block, redact or warn)", rule, a)
		}
	}
	for _, rule := range o.Disabled {
		if _, ok := defaultActions[rule]; !ok {
			return fmt.Errorf("leak: disabled: unknown rule %q (known: %s)", rule, strings.Join(Rules(), ", "))
		}
	}
	if o.MinSecretLen < 0 || o.HexMinLen < 0 || o.HexMinEntropy < 0 || o.HexMinEntropy > 4 {
		return fmt.Errorf("leak: min_secret_len, hex_min_len must be >= 0 and hex_min_entropy within 0..4")
	}
	return nil
}

// config is the immutable, resolved form of Options shared by a detector
// and the detectors derived from it with WithSecrets.
type config struct {
	actions       map[string]Action
	disabled      map[string]bool
	minSecretLen  int
	hexMinLen     int
	hexMinEntropy float64
}

func (c *config) action(rule string) Action {
	if a, ok := c.actions[rule]; ok {
		return a
	}
	return DefaultAction(rule)
}

// Detector scans text for leaked credentials. It is safe for concurrent
// use; AddSecret and SetSecrets may run while other goroutines scan.
type Detector struct {
	cfg *config
	mu  sync.Mutex // serialises writers of secrets
	// named holds the current secret values by name (writers only).
	named   map[string]string
	secrets atomic.Pointer[secretSet]
}

// New returns a detector. Unknown rules and actions in opts are ignored
// here; check them first with Options.Validate.
func New(opts Options) *Detector {
	cfg := &config{
		actions:       map[string]Action{},
		disabled:      map[string]bool{},
		minSecretLen:  opts.MinSecretLen,
		hexMinLen:     opts.HexMinLen,
		hexMinEntropy: opts.HexMinEntropy,
	}
	for rule, a := range opts.Actions {
		if a.Valid() {
			cfg.actions[rule] = a
		}
	}
	for _, r := range opts.Disabled {
		cfg.disabled[r] = true
	}
	if cfg.minSecretLen <= 0 {
		cfg.minSecretLen = defaultMinSecretLen
	}
	if cfg.minSecretLen < 4 {
		cfg.minSecretLen = 4 // the prefix filter needs four bytes
	}
	if cfg.hexMinLen <= 0 {
		cfg.hexMinLen = defaultHexMinLen
	}
	if cfg.hexMinEntropy <= 0 {
		cfg.hexMinEntropy = defaultHexMinEntropy
	}
	d := &Detector{cfg: cfg, named: map[string]string{}}
	d.secrets.Store(buildSecretSet(nil, cfg.minSecretLen))
	return d
}

// AddSecret adds (or replaces) one stored secret whose value, and its
// encoded forms, must never appear in scanned text. Values shorter than
// Options.MinSecretLen are ignored.
func (d *Detector) AddSecret(name, value string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.named[name] = value
	d.secrets.Store(buildSecretSet(d.named, d.cfg.minSecretLen))
}

// SetSecrets replaces every stored secret with the given name → value map.
func (d *Detector) SetSecrets(secrets map[string]string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.named = make(map[string]string, len(secrets))
	for k, v := range secrets {
		d.named[k] = v
	}
	d.secrets.Store(buildSecretSet(d.named, d.cfg.minSecretLen))
}

// WithSecrets returns a detector with d's configuration and d's secrets
// plus the given ones (per user or per execution). d is not changed.
func (d *Detector) WithSecrets(secrets map[string]string) *Detector {
	d.mu.Lock()
	merged := make(map[string]string, len(d.named)+len(secrets))
	for k, v := range d.named {
		merged[k] = v
	}
	d.mu.Unlock()
	for k, v := range secrets {
		merged[k] = v
	}
	nd := &Detector{cfg: d.cfg, named: merged}
	nd.secrets.Store(buildSecretSet(merged, d.cfg.minSecretLen))
	return nd
}

// SecretCount reports how many stored secrets the detector matches.
func (d *Detector) SecretCount() int {
	return d.secrets.Load().count
}

// Scan returns every finding in text, ordered by start offset (then by
// end). It returns nil when the text is clean.
func (d *Detector) Scan(text string) []Finding {
	s := scanner{cfg: d.cfg, set: d.secrets.Load(), text: text}
	s.run()
	if len(s.out) > 1 {
		slices.SortFunc(s.out, func(a, b Finding) int {
			if a.Start != b.Start {
				return a.Start - b.Start
			}
			return a.End - b.End
		})
	}
	return s.out
}

// Redact replaces every finding whose action is redact or block with a
// marker naming the rule ("[REDACTED:github_token]", or
// "[REDACTED:secret:NAME]" for a stored secret) and returns the new text
// and all findings (warnings included). Overlapping spans are merged.
func (d *Detector) Redact(text string) (string, []Finding) {
	findings := d.Scan(text)
	if len(findings) == 0 {
		return text, nil
	}
	var b strings.Builder
	b.Grow(len(text))
	pos := 0
	for i := 0; i < len(findings); i++ {
		f := findings[i]
		if f.Action == ActionWarn {
			continue
		}
		start, end, label := f.Start, f.End, marker(f)
		// Merge any later redactable finding that overlaps this span.
		for j := i + 1; j < len(findings) && findings[j].Start < end; j++ {
			if findings[j].Action == ActionWarn {
				continue
			}
			end = max(end, findings[j].End)
			i = j
		}
		if start < pos {
			start = pos
		}
		if start >= end {
			continue
		}
		b.WriteString(text[pos:start])
		b.WriteString(label)
		pos = end
	}
	b.WriteString(text[pos:])
	return b.String(), findings
}

func marker(f Finding) string {
	if f.Rule == RuleStoredSecret {
		return "[REDACTED:secret:" + f.SecretName + "]"
	}
	return "[REDACTED:" + f.Rule + "]"
}

// Strictest returns the strictest action among findings, or "" when
// there are none.
func Strictest(findings []Finding) Action {
	var best Action
	for _, f := range findings {
		if best == "" || f.Action.rank() > best.rank() {
			best = f.Action
		}
	}
	return best
}

// Describe summarises findings for a log line or an error message, naming
// rules and secret names but never the matched text.
func Describe(findings []Finding) string {
	if len(findings) == 0 {
		return "no findings"
	}
	seen := map[string]bool{}
	var parts []string
	for _, f := range findings {
		label := f.Rule
		if f.SecretName != "" {
			label += " (" + f.SecretName + ")"
		}
		if !seen[label] {
			seen[label] = true
			parts = append(parts, label)
		}
	}
	return strings.Join(parts, ", ")
}
