package safety

import (
	"fmt"
	"slices"
)

// Severity ranks how dangerous a finding is.
type Severity int

// Severities, mildest first.
const (
	Low Severity = iota + 1
	Medium
	High
	Critical
)

var severityNames = [...]string{Low: "low", Medium: "medium", High: "high", Critical: "critical"}

// String returns the lowercase name of s.
func (s Severity) String() string {
	if s >= Low && s <= Critical {
		return severityNames[s]
	}
	return fmt.Sprintf("severity(%d)", int(s))
}

// MarshalText encodes s as its name.
func (s Severity) MarshalText() ([]byte, error) {
	if s < Low || s > Critical {
		return nil, fmt.Errorf("safety: invalid severity %d", int(s))
	}
	return []byte(s.String()), nil
}

// UnmarshalText decodes a severity name.
func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// ParseSeverity parses low, medium, high or critical.
func ParseSeverity(name string) (Severity, error) {
	for i, n := range severityNames {
		if n != "" && n == name {
			return Severity(i), nil
		}
	}
	return 0, fmt.Errorf("safety: unknown severity %q (want low, medium, high or critical)", name)
}

// Family groups rules that catch one kind of technique.
type Family string

// Rule families.
const (
	// FamilyOverride: text that tries to replace the assistant's
	// instructions ("ignore previous instructions", "you are now", "new
	// instructions", system prompt extraction), in several languages.
	FamilyOverride Family = "override"
	// FamilyRole: chat-template and role markers (<|im_start|>, [INST],
	// "system:" lines, fenced system blocks).
	FamilyRole Family = "role"
	// FamilyControl: spoofed Hearth control text (HEARTBEAT_OK,
	// ROUTINE_OK, untrusted-block and tool-output delimiters, fake
	// notices and approvals).
	FamilyControl Family = "control"
	// FamilyUnicode: invisible and deceptive characters (zero-width,
	// bidi overrides, tag characters, mixed-script look-alikes).
	FamilyUnicode Family = "unicode"
	// FamilyPayload: base64, hex and escaped payloads that decode to text.
	FamilyPayload Family = "payload"
	// FamilyExfil: links and images built to carry data to a third party.
	FamilyExfil Family = "exfil"
	// FamilyShell: shell-injection shapes (pipe to shell, destructive rm,
	// reverse shells, command substitution that leaks).
	FamilyShell Family = "shell"
	// FamilyPaths: requests to read or send credential files.
	FamilyPaths Family = "paths"
	// FamilySecret: a credential or stored secret value (engine/leak).
	FamilySecret Family = "secret"
)

// Families lists the detector's rule families (FamilySecret comes from
// the leak detector and is not listed).
func Families() []Family {
	return []Family{FamilyOverride, FamilyRole, FamilyControl, FamilyUnicode,
		FamilyPayload, FamilyExfil, FamilyShell, FamilyPaths}
}

// neutralizer says how Sanitize makes a finding's span harmless.
type neutralizer uint8

const (
	// keep the text; the finding is only annotated.
	keepText neutralizer = iota
	// strip removes the span (invisible characters).
	strip
	// escapeMarker replaces < > [ ] | with entities so the marker is inert.
	escapeMarker
	// quoteLine prefixes the line with "> " so a role label reads as a quote.
	quoteLine
	// plainFence rewrites a fenced block's info string to "text".
	plainFence
	// spaceToken replaces the underscore of a control token with a space.
	spaceToken
	// defang turns a link or image into inert text with a defanged URL.
	defang
	// foldWord replaces a mixed-script word with its ASCII look-alike.
	foldWord
	// dropPayload replaces an encoded payload with a short notice.
	dropPayload
)

// Rule describes one detection rule.
type Rule struct {
	// ID is stable and used in config (safety.rules.<id>); it contains no
	// dots so that it survives dotted config paths.
	ID       string   `json:"id"`
	Family   Family   `json:"family"`
	Severity Severity `json:"severity"`
	// Summary says in a few words what a match means, for notices.
	Summary string `json:"summary"`

	fix neutralizer
}

// Rule ids. They are also the keys of PolicyConfig.Rules.
const (
	RuleIgnorePrevious     = "override-ignore-previous"
	RuleYouAreNow          = "override-you-are-now"
	RuleNewInstructions    = "override-new-instructions"
	RulePromptLeak         = "override-prompt-leak"
	RuleStealth            = "override-stealth"
	RuleJailbreak          = "override-jailbreak"
	RuleChatMLToken        = "role-special-token"
	RuleLlamaMarker        = "role-inst-marker"
	RuleRoleTag            = "role-xml-tag"
	RuleRoleLine           = "role-line-label"
	RuleSystemFence        = "role-system-fence"
	RuleControlToken       = "control-sentinel-token"
	RuleBlockDelimiter     = "control-block-delimiter"
	RuleToolDelimiter      = "control-tool-delimiter"
	RuleFakeNotice         = "control-fake-notice"
	RuleFakeApproval       = "control-fake-approval"
	RuleTagChars           = "unicode-tag-chars"
	RuleBidi               = "unicode-bidi-control"
	RuleZeroWidth          = "unicode-zero-width"
	RuleInvisibleRun       = "unicode-invisible-run"
	RuleMixedScript        = "unicode-mixed-script"
	RuleEncodedInjection   = "payload-encoded-injection"
	RuleEncodedText        = "payload-encoded-text"
	RuleBlob               = "payload-long-blob"
	RuleDecodeAndFollow    = "payload-decode-and-follow"
	RuleExfilImageTemplate = "exfil-image-template"
	RuleExfilLinkTemplate  = "exfil-link-template"
	RuleExfilImageData     = "exfil-image-data"
	RuleExfilInstruction   = "exfil-instruction"
	RulePipeToShell        = "shell-pipe-to-shell"
	RuleRmRoot             = "shell-destructive"
	RuleReverseShell       = "shell-reverse-shell"
	RuleCmdSubst           = "shell-leaking-substitution"
	RuleShellUpload        = "shell-upload"
	RuleSSHKey             = "paths-ssh-key"
	RuleSystemCreds        = "paths-system-accounts"
	RuleCloudCreds         = "paths-cloud-credentials"
	RuleMetadata           = "paths-metadata-endpoint"
	// RuleSecret is reported for every leak-detector finding.
	RuleSecret = "secret-leak"
)

// ruleTable is every rule the detector knows, in a fixed order.
var ruleTable = []Rule{
	{RuleIgnorePrevious, FamilyOverride, High, "tries to make the assistant ignore its instructions", keepText},
	{RuleYouAreNow, FamilyOverride, High, "tries to give the assistant a new, unrestricted persona", keepText},
	{RuleNewInstructions, FamilyOverride, High, "announces new instructions for the assistant", keepText},
	{RulePromptLeak, FamilyOverride, High, "asks the assistant to reveal its system prompt", keepText},
	{RuleStealth, FamilyOverride, Medium, "asks the assistant to hide something from the user", keepText},
	{RuleJailbreak, FamilyOverride, High, "uses a known jailbreak phrase", keepText},
	{RuleChatMLToken, FamilyRole, High, "contains a chat-template special token", escapeMarker},
	{RuleLlamaMarker, FamilyRole, High, "contains an [INST] or <<SYS>> template marker", escapeMarker},
	{RuleRoleTag, FamilyRole, High, "contains a <system> or <assistant> role tag", escapeMarker},
	{RuleRoleLine, FamilyRole, Medium, "has a line pretending to be a system message", quoteLine},
	{RuleSystemFence, FamilyRole, Medium, "has a fenced block labelled system", plainFence},
	{RuleControlToken, FamilyControl, Medium, "contains a Hearth sentinel (HEARTBEAT_OK or ROUTINE_OK)", spaceToken},
	{RuleBlockDelimiter, FamilyControl, Critical, "tries to close Hearth's untrusted-content block", escapeMarker},
	{RuleToolDelimiter, FamilyControl, High, "contains a fake tool-output or untrusted-data delimiter", escapeMarker},
	{RuleFakeNotice, FamilyControl, High, "imitates a Hearth or system notice", escapeMarker},
	{RuleFakeApproval, FamilyControl, High, "claims the owner already approved an action", keepText},
	{RuleTagChars, FamilyUnicode, High, "hides text in invisible Unicode tag characters", strip},
	{RuleBidi, FamilyUnicode, High, "contains bidirectional override characters", strip},
	{RuleZeroWidth, FamilyUnicode, Medium, "hides zero-width characters inside words", strip},
	{RuleInvisibleRun, FamilyUnicode, High, "contains a long run of invisible characters", strip},
	{RuleMixedScript, FamilyUnicode, Medium, "mixes Latin with look-alike Cyrillic or Greek letters in a word", foldWord},
	{RuleEncodedInjection, FamilyPayload, High, "hides an injection in an encoded payload", dropPayload},
	{RuleEncodedText, FamilyPayload, Low, "contains encoded text (base64, hex or escapes)", keepText},
	{RuleBlob, FamilyPayload, Low, "contains a long encoded blob", keepText},
	{RuleDecodeAndFollow, FamilyPayload, Medium, "asks the assistant to decode something and obey it", keepText},
	{RuleExfilImageTemplate, FamilyExfil, High, "has an image URL with a slot for data to exfiltrate", defang},
	{RuleExfilLinkTemplate, FamilyExfil, High, "has a link URL with a slot for private data", defang},
	{RuleExfilImageData, FamilyExfil, Medium, "has an image that sends data to an unknown host", defang},
	{RuleExfilInstruction, FamilyExfil, High, "asks the assistant to send private data to a URL", keepText},
	{RulePipeToShell, FamilyShell, High, "pipes downloaded or decoded code into a shell", keepText},
	{RuleRmRoot, FamilyShell, High, "contains a destructive command (rm -rf /, disk wipe, fork bomb)", keepText},
	{RuleReverseShell, FamilyShell, High, "contains a reverse-shell command", keepText},
	{RuleCmdSubst, FamilyShell, High, "has a command substitution that leaks the environment or files", keepText},
	{RuleShellUpload, FamilyShell, High, "uploads credentials or the environment with a shell command", keepText},
	{RuleSSHKey, FamilyPaths, High, "asks to read or send a private key (SSH, GPG)", keepText},
	{RuleSystemCreds, FamilyPaths, High, "asks to read or send system account files", keepText},
	{RuleCloudCreds, FamilyPaths, High, "asks to read or send cloud or tool credentials", keepText},
	{RuleMetadata, FamilyPaths, High, "points at a cloud metadata endpoint", keepText},
}

// secretRule describes leak-detector findings.
var secretRule = Rule{RuleSecret, FamilySecret, Critical, "contains a credential or stored secret", keepText}

// Rules returns a copy of every detection rule, in a fixed order.
func Rules() []Rule { return slices.Clone(ruleTable) }

// ruleIndex returns the index of id in ruleTable, or -1.
func ruleIndex(id string) int {
	for i := range ruleTable {
		if ruleTable[i].ID == id {
			return i
		}
	}
	return -1
}

// Finding is one rule match. Start and End are byte offsets into the
// original text (End exclusive).
type Finding struct {
	Rule     string   `json:"rule"`
	Family   Family   `json:"family"`
	Severity Severity `json:"severity"`
	Start    int      `json:"start"`
	End      int      `json:"end"`

	rule int // index in ruleTable; -1 for a secret finding
}
