package safety

import (
	"slices"
	"strings"

	"github.com/hearthbot/hearth/engine/leak"
)

// edit replaces original bytes [start,end) with repl.
type edit struct {
	start, end int
	repl       string
}

// plainText removes invisible characters from s and, when s still holds
// non-ASCII, returns its folded ASCII-ish form.
func plainText(s string) string {
	if plainASCII(s) {
		return s
	}
	var v view
	v.build(s, folds(), nil)
	var b strings.Builder
	ascii := true
	for _, r := range s {
		if isInvisible(r) {
			continue
		}
		if r >= 0x80 {
			ascii = false
		}
		b.WriteRune(r)
	}
	if ascii {
		return b.String()
	}
	return string(v.fold)
}

var markupEscaper = strings.NewReplacer("<", "&lt;", ">", "&gt;", "[", "&#91;", "]", "&#93;")

// neutralize returns the harmless form of a finding's span.
func neutralize(fix neutralizer, span string) string {
	switch fix {
	case strip:
		return ""
	case escapeMarker:
		s := markupEscaper.Replace(plainText(span))
		if !strings.ContainsAny(s, "&") { // "HEARTH SYSTEM NOTICE" has no bracket to escape
			s = "&quot;" + s + "&quot;"
		}
		return s
	case plainFence:
		return "text"
	case spaceToken:
		return strings.NewReplacer("_", " ", "-", " ").Replace(plainText(span))
	case defang:
		return defangSpan(plainText(span))
	case foldWord:
		return plainText(span)
	case dropPayload:
		return "[encoded payload removed by Hearth]"
	}
	return span
}

// sanitizeEdits returns the edits that neutralise findings whose action is
// sanitize or review, plus the redaction of secrets.
func sanitizeEdits(text string, findings []Finding, actions []Action, secrets []leak.Finding) []edit {
	var edits []edit
	for i, f := range findings {
		if f.rule < 0 || (actions[i] != ActionSanitize && actions[i] != ActionReview) {
			continue
		}
		fix := ruleTable[f.rule].fix
		switch fix {
		case keepText:
			continue
		case quoteLine:
			ls := strings.LastIndexByte(text[:f.Start], '\n') + 1
			edits = append(edits, edit{ls, ls, "> "})
			continue
		}
		edits = append(edits, edit{f.Start, f.End, neutralize(fix, text[f.Start:f.End])})
	}
	for _, s := range secrets {
		if s.Action == leak.ActionWarn {
			continue
		}
		edits = append(edits, edit{s.Start, s.End, redactionMarker(s)})
	}
	return edits
}

func redactionMarker(f leak.Finding) string {
	if f.Rule == leak.RuleStoredSecret {
		return "[REDACTED:secret:" + f.SecretName + "]"
	}
	return "[REDACTED:" + f.Rule + "]"
}

// applyEdits applies non-overlapping edits; where edits overlap, the one
// that starts first (and, at equal starts, is longer) wins, except that a
// redaction always wins over the edit it overlaps.
func applyEdits(text string, edits []edit) string {
	if len(edits) == 0 {
		return text
	}
	slices.SortStableFunc(edits, func(a, b edit) int {
		if a.start != b.start {
			return a.start - b.start
		}
		return b.end - a.end
	})
	var b strings.Builder
	b.Grow(len(text))
	pos := 0
	for i := 0; i < len(edits); i++ {
		e := edits[i]
		if e.start < pos || (e.start == e.end && e.start < pos) {
			continue
		}
		// A redaction inside this edit's span takes the whole span.
		for j := i + 1; j < len(edits) && edits[j].start < e.end; j++ {
			if strings.HasPrefix(edits[j].repl, "[REDACTED:") {
				e.repl = edits[j].repl
				e.end = max(e.end, edits[j].end)
			}
		}
		b.WriteString(text[pos:e.start])
		b.WriteString(e.repl)
		pos = e.end
	}
	b.WriteString(text[pos:])
	return b.String()
}

// defangURL makes a URL inert for renderers and link unfurlers and drops
// its query: https://evil.example/p?d=x → hxxps://evil[.]example/p?…
func defangURL(u string) string {
	host, rest, ok := parseURL(u)
	if !ok {
		return strings.ReplaceAll(u, ".", "[.]")
	}
	scheme := "hxxp://"
	if strings.HasPrefix(strings.ToLower(u), "https") {
		scheme = "hxxps://"
	}
	path := rest
	dropped := false
	if k := strings.IndexAny(path, "?#"); k >= 0 {
		path, dropped = path[:k], true
	}
	if len(path) > 60 {
		path, dropped = path[:60], true
	}
	out := scheme + strings.ReplaceAll(host, ".", "[.]") + path
	if dropped {
		out += "?…"
	}
	return out
}

// defangSpan rewrites a Markdown image, HTML image, Markdown link or bare
// URL so that nothing renders or unfurls.
func defangSpan(s string) string {
	switch {
	case strings.HasPrefix(s, "!["):
		alt, u := splitMarkdownLink(s[1:])
		return "[image removed by Hearth: " + strings.TrimSpace(alt+" "+defangURL(u)) + "]"
	case strings.HasPrefix(strings.ToLower(s), "<img"):
		u := ""
		if k := strings.Index(strings.ToLower(s), "src="); k >= 0 {
			u = strings.Trim(strings.Fields(s[k+4:] + " ")[0], "\"'>")
		}
		return "[image removed by Hearth: " + defangURL(u) + "]"
	case strings.HasPrefix(s, "["):
		text, u := splitMarkdownLink(s)
		return text + " (link removed by Hearth: " + defangURL(u) + ")"
	}
	return defangURL(s)
}

// splitMarkdownLink splits "[text](url ...)" into text and url.
func splitMarkdownLink(s string) (text, u string) {
	k := strings.Index(s, "](")
	if k < 0 {
		return s, ""
	}
	text = strings.TrimPrefix(s[:k], "[")
	rest := strings.TrimSuffix(s[k+2:], ")")
	rest = strings.TrimPrefix(strings.TrimSpace(rest), "<")
	if f := strings.Fields(rest); len(f) > 0 {
		u = strings.TrimSuffix(f[0], ">")
	}
	return text, u
}
