package safety

import (
	"bytes"
	"sync"
)

// check examines the text around one anchor occurrence at fold bytes
// [a,b) and records findings in c.sink. Checks look at a bounded window
// only, so the whole scan stays linear.
type check func(c *scanCtx, a, b int)

type anchor struct {
	pat string
	fn  check
}

// window bounds how far a check looks around its anchor.
const window = 400

// anchorIndex is the compiled anchor table, shared by every detector.
type anchorIndex struct {
	ac  *acMatcher
	fns []check
}

var anchorIdx = sync.OnceValue(func() *anchorIndex {
	var all []anchor
	all = append(all, roleAnchors()...)
	all = append(all, controlAnchors()...)
	all = append(all, linkAnchors()...)
	all = append(all, shellAnchors()...)
	all = append(all, pathAnchors()...)
	idx := &anchorIndex{}
	pats := make([]string, len(all))
	for i, a := range all {
		pats[i] = a.pat
		idx.fns = append(idx.fns, a.fn)
	}
	idx.ac = newAC(pats)
	return idx
})

// add records a finding for fold bytes [a,b).
func (c *scanCtx) add(rule string, a, b int) {
	s, e := c.v.foldSpan(a, b)
	c.addOrig(rule, s, e)
}

// addOrig records a finding for original bytes [s,e).
func (c *scanCtx) addOrig(rule string, s, e int) {
	c.sink.add(ruleIndex(rule), s, e)
}

func isLetterByte(b byte) bool { return 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' }
func isWordByte(b byte) bool {
	return isLetterByte(b) || '0' <= b && b <= '9' || b == '_' || b >= 0x80
}

// before returns the byte before fold index j, or '\n' at the start.
func (c *scanCtx) before(j int) byte {
	if j <= 0 {
		return '\n'
	}
	return c.v.fold[j-1]
}

// at returns the fold byte at j, or '\n' past the end.
func (c *scanCtx) at(j int) byte {
	if j >= len(c.v.fold) {
		return '\n'
	}
	return c.v.fold[j]
}

// lineStart returns the start of the line holding j (at most window back).
func (c *scanCtx) lineStart(j int) int {
	lo := max(0, j-window)
	if k := bytes.LastIndexByte(c.v.fold[lo:j], '\n'); k >= 0 {
		return lo + k + 1
	}
	return lo
}

// lineEnd returns the end of the line holding j (at most window on).
func (c *scanCtx) lineEnd(j int) int {
	hi := min(len(c.v.fold), j+window)
	if k := bytes.IndexByte(c.v.fold[j:hi], '\n'); k >= 0 {
		return j + k
	}
	return hi
}

// atLineStart reports whether only indentation and Markdown decoration
// (#, *, >, -, `, spaces) precede j on its line; hashes reports whether a
// '#' was among them.
func (c *scanCtx) atLineStart(j int) (ok, hashes bool) {
	for k := j - 1; k >= 0 && k >= j-16; k-- {
		switch c.v.fold[k] {
		case '\n':
			return true, hashes
		case '#':
			hashes = true
		case ' ', '\t', '*', '>', '-', '`', '_', '\r':
		default:
			return false, hashes
		}
	}
	return j-16 < 0, hashes
}

// skipSpaces returns the first index at or after j that is not a blank.
func (c *scanCtx) skipSpaces(j int) int {
	for j < len(c.v.fold) && (c.v.fold[j] == ' ' || c.v.fold[j] == '\t') {
		j++
	}
	return j
}

// wordAt returns the [a-z0-9_-] word starting at j.
func (c *scanCtx) wordAt(j int) string {
	k := j
	for k < len(c.v.fold) && k < j+40 && (isWordByte(c.v.fold[k]) && c.v.fold[k] < 0x80 || c.v.fold[k] == '-') {
		k++
	}
	return string(c.v.fold[j:k])
}

func hasAny(s []byte, words ...string) bool {
	for _, w := range words {
		if bytes.Contains(s, []byte(w)) {
			return true
		}
	}
	return false
}

// hasWord reports whether s holds w as a whole word.
func hasWord(s []byte, w string) bool {
	for off := 0; ; {
		k := bytes.Index(s[off:], []byte(w))
		if k < 0 {
			return false
		}
		a, b := off+k, off+k+len(w)
		if (a == 0 || !isWordByte(s[a-1])) && (b >= len(s) || !isWordByte(s[b])) {
			return true
		}
		off = a + 1
	}
}

func hasAnyWord(s []byte, words ...string) bool {
	for _, w := range words {
		if hasWord(s, w) {
			return true
		}
	}
	return false
}

// ---- role markers ----

func roleAnchors() []anchor {
	out := []anchor{
		{"<|", checkSpecialToken},
		{"<start_of_turn>", markerAnchor(RuleChatMLToken)},
		{"<end_of_turn>", markerAnchor(RuleChatMLToken)},
		{"[inst]", markerAnchor(RuleLlamaMarker)},
		{"[/inst]", markerAnchor(RuleLlamaMarker)},
		{"<<sys>>", markerAnchor(RuleLlamaMarker)},
		{"<</sys>>", markerAnchor(RuleLlamaMarker)},
		{"system", checkRoleLine},
		{"instruction", checkAlpacaLine},
		{"```", checkFence},
		{"~~~", checkFence},
		{"<instructions>", markerAnchor(RuleRoleTag)},
		{"</instructions>", markerAnchor(RuleRoleTag)},
	}
	for _, t := range []string{"<system", "</system", "<assistant", "</assistant", "<developer", "</developer"} {
		out = append(out, anchor{t, checkRoleTag})
	}
	return out
}

func markerAnchor(rule string) check {
	return func(c *scanCtx, a, b int) { c.add(rule, a, b) }
}

// checkSpecialToken matches <|name|> tokens (ChatML, Llama 3, GPT).
func checkSpecialToken(c *scanCtx, a, b int) {
	f := c.v.fold
	letters := 0
	for k := b; k < len(f) && k < b+48; k++ {
		switch ch := f[k]; {
		case ch == '|' && c.at(k+1) == '>':
			if k-b >= 2 && letters > 0 {
				c.add(RuleChatMLToken, a, k+2)
			}
			return
		case ch == ' ' || ch == '\t' || ch == '\n' || ch == '<' || ch == '>' || ch == '|':
			return
		case isLetterByte(ch):
			letters++
		}
	}
}

func checkRoleTag(c *scanCtx, a, b int) {
	next := c.at(b)
	switch next {
	case '>', ' ':
	case '_', '-':
		if w := c.wordAt(b + 1); w != "prompt" && w != "message" && w != "instructions" && w != "instruction" {
			return // <system-out> (JUnit), <system-reminder> (a fake notice, see control rules)
		}
	default:
		return
	}
	f := c.v.fold
	for k := b; k < len(f) && k < b+60; k++ {
		if f[k] == '>' {
			c.add(RuleRoleTag, a, k+1)
			return
		}
		if f[k] == '\n' || f[k] == '<' {
			return
		}
	}
}

// roleCues are words that make a "system:" line read as an instruction.
var roleCues = []string{"you", "your", "ignore", "assistant", "ai", "model", "must", "always", "never",
	"now", "new", "override", "important", "disregard", "forget", "do not", "don't", "act",
	"respond", "reply", "the user", "instructions", "from now on"}

// roleNouns make "system <noun>:" a role label by themselves; weakNouns
// ("System notice: maintenance on Sunday") only with a cue.
var roleNouns = map[string]bool{"override": true, "instruction": true, "instructions": true,
	"prompt": true, "command": true, "directive": true, "directives": true}
var weakNouns = map[string]bool{"message": true, "messages": true, "note": true, "notice": true,
	"alert": true, "update": true, "notification": true}

// checkRoleLine finds lines that pretend to be a system message:
// "system: you must ...", "SYSTEM:", "System override:", "[system] ...".
func checkRoleLine(c *scanCtx, a, b int) {
	if isWordByte(c.before(a)) && c.before(a) != '_' || isLetterByte(c.at(b)) {
		return
	}
	bracket := c.before(a) == '[' || c.before(a) == '('
	start := a
	if bracket {
		start = a - 1
	}
	if ok, _ := c.atLineStart(start); !ok {
		return
	}
	j := c.skipSpaces(b)
	if bracket {
		if c.at(j) != ']' && c.at(j) != ')' {
			return
		}
		rest := c.skipSpaces(j + 1)
		if le := c.lineEnd(rest); le-rest >= 8 {
			c.add(RuleRoleLine, start, j+1)
		}
		return
	}
	w := c.wordAt(j)
	weak := weakNouns[w]
	if roleNouns[w] || weak {
		k := c.skipSpaces(j + len(w))
		if c.at(k) != ':' {
			return
		}
		if !weak || hasAnyWord(c.labelRest(k), roleCues...) {
			c.add(RuleRoleLine, a, k+1)
		}
		return
	}
	if c.at(j) != ':' || c.at(j+1) == '/' || c.at(j+1) == ':' {
		return
	}
	rest := c.labelRest(j)
	so, _ := c.v.foldSpan(a, b)
	caps := so+6 <= len(c.v.src) && c.v.src[so:so+6] == "SYSTEM"
	if caps && len(bytes.TrimSpace(rest)) > 0 || hasAnyWord(rest, roleCues...) {
		c.add(RuleRoleLine, a, j+1)
	}
}

// labelRest returns what follows a role label's colon at j: the rest of
// its line, or the next line when the label stands alone.
func (c *scanCtx) labelRest(j int) []byte {
	le := c.lineEnd(j)
	rest := c.v.fold[j+1 : min(le, j+240)]
	if len(bytes.TrimSpace(rest)) == 0 && le < len(c.v.fold) {
		ne := c.lineEnd(le + 1)
		rest = c.v.fold[le+1 : min(ne, le+241)]
	}
	return rest
}

// checkAlpacaLine finds "### Instruction:" template headers.
func checkAlpacaLine(c *scanCtx, a, b int) {
	ok, hashes := c.atLineStart(a)
	if !ok || !hashes || isLetterByte(c.before(a)) {
		return
	}
	j := b
	if c.at(j) == 's' {
		j++
	}
	j = c.skipSpaces(j)
	if c.at(j) == ':' {
		c.add(RuleRoleLine, a, j+1)
	}
}

var fenceRoles = map[string]bool{"system": true, "developer": true, "system_prompt": true,
	"system-prompt": true, "sys": true, "systemprompt": true}

func checkFence(c *scanCtx, a, b int) {
	if ok, _ := c.atLineStart(a); !ok || c.before(a) == '`' || c.before(a) == '~' {
		return
	}
	j := c.skipSpaces(b)
	w := c.wordAt(j)
	if fenceRoles[w] {
		c.add(RuleSystemFence, j, j+len(w))
	}
}

// ---- spoofed Hearth control text ----

func controlAnchors() []anchor {
	out := []anchor{
		{"heartbeat_ok", checkSentinel},
		{"heartbeat-ok", checkSentinel},
		{"routine_ok", checkSentinel},
		{"routine-ok", checkSentinel},
		{"hearth-untrusted", checkBlockDelimiter},
	}
	for _, t := range []string{"<tool_output", "</tool_output", "<tool_result", "</tool_result",
		"<tool_response", "</tool_response", "<tool_call", "</tool_call", "<tool_use", "</tool_use",
		"<function_results", "</function_results", "<function_calls", "</function_calls",
		"<function_call>", "</function_call>", "</tool>", "<untrusted", "</untrusted", "[untrusted",
		"[/untrusted", "end of untrusted", "end untrusted", "[tool output", "[/tool output",
		"[end of tool", "[end tool", "end of tool output", "end of tool result",
		"end of function output", "end of function result", "tool output ends", "<external_content",
		"</external_content", "<external-content", "</external-content"} {
		out = append(out, anchor{t, checkToolDelimiter})
	}
	for _, t := range []string{"[system notice", "[system message", "[system note", "[system alert",
		"[system update", "[system override", "[system instruction", "<system-notice", "<system_notice",
		"</system-notice", "<system-reminder", "<system_reminder", "</system-reminder",
		"</system_reminder", "[hearth", "<hearth", "hearth system", "hearth notice", "hearth security",
		"hearth admin", "hearth safety", "message from hearth", "[admin notice", "[admin message",
		"[important system", "(system notice", "{system notice", "** system notice"} {
		out = append(out, anchor{t, checkFakeNotice})
	}
	return out
}

func checkSentinel(c *scanCtx, a, b int) {
	if isWordByte(c.before(a)) || isWordByte(c.at(b)) {
		return
	}
	c.add(RuleControlToken, a, b)
}

// closeMarker extends [a,b) to a closing '>' or ']' on the same line.
func (c *scanCtx) closeMarker(a, b, limit int) int {
	f := c.v.fold
	for k := b; k < len(f) && k < b+limit; k++ {
		switch f[k] {
		case '>', ']':
			return k + 1
		case '\n', '<', '[':
			return b
		}
	}
	return b
}

// checkBlockDelimiter reports any mention of Hearth's own block tag.
func checkBlockDelimiter(c *scanCtx, a, b int) {
	s := a
	for k := a - 1; k >= 0 && k >= a-4; k-- {
		ch := c.v.fold[k]
		if ch == '<' || ch == '[' {
			s = k
			break
		}
		if ch != '/' && ch != ' ' {
			break
		}
	}
	c.add(RuleBlockDelimiter, s, c.closeMarker(s, b, 120))
}

func checkToolDelimiter(c *scanCtx, a, b int) {
	if f := c.v.fold[a]; f != '<' && f != '[' && isLetterByte(c.before(a)) {
		return
	}
	if b-a > 0 && isLetterByte(c.v.fold[b-1]) && isLetterByte(c.at(b)) && c.v.fold[a] != '<' {
		return
	}
	c.add(RuleToolDelimiter, a, c.closeMarker(a, b, 60))
}

func checkFakeNotice(c *scanCtx, a, b int) {
	f := c.v.fold
	if isLetterByte(f[a]) && isLetterByte(c.before(a)) {
		return
	}
	if isLetterByte(c.at(b)) {
		return
	}
	if bytes.HasSuffix(f[a:b], []byte("hearth")) && c.at(b) == '-' {
		return // <hearth-untrusted>, reported as a block delimiter
	}
	c.add(RuleFakeNotice, a, c.closeMarker(a, b, 60))
}
