package safety

import (
	"context"
	"strings"

	"github.com/hearthbot/hearth/engine/leak"
)

// CheckOutbound implements engine.OutboundGuard: before a reply is sent,
// secrets are redacted and links or images that carry data to a host the
// user has not used are defanged (images are removed, links and bare URLs
// lose their query and stop being clickable or unfurlable). It returns the
// text to send and a description of each change.
func (g *Guard) CheckOutbound(ctx context.Context, userID, text string) (string, []string) {
	var changes []string
	out := text
	if g.opts.Secrets != nil {
		if fs := g.opts.Secrets.Scan(out); len(fs) > 0 {
			out = applyEdits(out, sanitizeEdits(out, nil, nil, fs))
			for _, f := range fs {
				if f.Action == leak.ActionWarn {
					changes = appendUnique(changes, "possible secret left in place ("+f.Rule+")")
				} else {
					changes = appendUnique(changes, "secret redacted ("+f.Rule+")")
				}
			}
		}
	}
	known := g.det.known
	if g.opts.UserHosts != nil {
		if hosts := g.opts.UserHosts(ctx, userID); len(hosts) > 0 {
			known = newHostSet(hosts)
			for h := range g.det.known {
				known[h] = struct{}{}
			}
		}
	}
	var edits []edit
	edits, changes = outboundLinks(out, known, edits, changes)
	out = applyEdits(out, edits)
	if len(changes) > 0 {
		findings := []string{}
		if len(edits) > 0 {
			findings = append(findings, "exfil-outbound-link")
		}
		for _, c := range changes {
			if strings.HasPrefix(c, "secret") || strings.HasPrefix(c, "possible secret") {
				findings = appendUnique(findings, RuleSecret)
			}
		}
		action := ActionSanitize
		if len(edits) == 0 && out == text {
			action = ActionWarn
		}
		g.report(ctx, AuditEvent{Kind: "outbound", UserID: userID, Action: action, Findings: findings, Changes: changes})
	}
	return out, changes
}

// carriesData reports a URL tail (path and query) that can carry data.
func carriesData(pathQuery string) bool {
	if k := strings.IndexAny(pathQuery, "?#"); k >= 0 && len(pathQuery)-k-1 >= 16 {
		return true
	}
	return dataLooking(pathQuery) || len(placeholders(pathQuery)) > 0 ||
		strings.Contains(pathQuery, "REDACTED")
}

// outboundLinks finds Markdown images, HTML images, Markdown links and
// bare URLs in a reply and defangs those that carry data to unknown hosts.
func outboundLinks(text string, known hostSet, edits []edit, changes []string) ([]edit, []string) {
	covered := 0 // end of the last construct, so a link's URL is not seen twice
	for i := 0; i < len(text); i++ {
		if i < covered {
			continue
		}
		var start, end int
		var u string
		image := false
		switch {
		case strings.HasPrefix(text[i:], "!["), text[i] == '[':
			image = text[i] == '!'
			k := strings.Index(text[i:min(len(text), i+400)], "](")
			if k < 0 {
				continue
			}
			var ok bool
			u, end, ok = parenURL(text, i+k+1)
			if !ok {
				continue
			}
			start = i
		case hasPrefixFold(text[i:], "<img"):
			gt := strings.IndexByte(text[i:min(len(text), i+2400)], '>')
			if gt < 0 {
				continue
			}
			tag := text[i : i+gt+1]
			k := strings.Index(strings.ToLower(tag), "src=")
			if k < 0 {
				continue
			}
			u = strings.Trim(strings.Fields(tag[k+4:] + " ")[0], "\"'>")
			start, end, image = i, i+gt+1, true
		case hasPrefixFold(text[i:], "http://"), hasPrefixFold(text[i:], "https://"):
			if i > 0 && isLetterByte(text[i-1]) {
				continue
			}
			e := urlEnd(text, i, false)
			u = strings.TrimRight(text[i:e], ".,;:!?)")
			start, end = i, i+len(u)
		default:
			continue
		}
		covered = end
		host, rest, ok := parseURL(u)
		if !ok || known.has(host) || !carriesData(rest) {
			continue
		}
		span := text[start:end]
		edits = append(edits, edit{start, end, defangSpan(span)})
		what := "link"
		if image {
			what = "image"
		}
		changes = appendUnique(changes, what+" carrying data to "+host+" defanged")
		i = end - 1
	}
	return edits, changes
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}
