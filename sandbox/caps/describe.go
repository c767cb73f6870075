package caps

import (
	"fmt"
	"strings"
)

// Describe lists, in plain words, everything the capabilities grant, one
// line per grant, for the confirmation `hearth tools install` shows.
func (c *Capabilities) Describe() []string {
	var out []string
	for _, e := range c.HTTP {
		scheme := "HTTPS"
		if e.AllowHTTP {
			scheme = "HTTP or HTTPS (unencrypted allowed)"
		}
		line := fmt.Sprintf("network: %s %s to %s", scheme, strings.Join(e.Methods, ", "), e.Host)
		if e.PathPrefix != "/" {
			line += " under " + e.PathPrefix
		}
		if e.AllowPrivate {
			line += " — may reach loopback/private addresses (test setting)"
		}
		out = append(out, line)
	}
	for _, s := range c.Secrets {
		out = append(out, fmt.Sprintf("secret: %s, injected by the host as %s, only to %s",
			s.Name, describeInject(s.Inject), strings.Join(s.Hosts, ", ")))
	}
	for _, t := range c.Tools {
		if t.Alias == t.Tool {
			out = append(out, "tools: may invoke "+t.Tool)
		} else {
			out = append(out, fmt.Sprintf("tools: may invoke %s (as %s)", t.Tool, t.Alias))
		}
	}
	if c.Workspace != nil {
		out = append(out, "workspace: reads your documents under "+strings.Join(c.Workspace.Read, ", "))
	}
	if r := c.RateLimit; r != nil {
		if r.CallsPerMinute > 0 {
			out = append(out, fmt.Sprintf("rate limit: %d calls per minute", r.CallsPerMinute))
		}
		if r.HTTPPerMinute > 0 {
			out = append(out, fmt.Sprintf("rate limit: %d HTTP requests per minute", r.HTTPPerMinute))
		}
	}
	if l := c.Limits; l != nil {
		var parts []string
		for _, kv := range []struct {
			name string
			v    int
		}{{"memory_mib", l.MemoryMiB}, {"timeout_ms", l.TimeoutMS}, {"max_output_bytes", l.MaxOutputBytes},
			{"max_http_requests", l.MaxHTTPRequests}, {"max_tool_invocations", l.MaxToolInvocations},
			{"max_log_bytes", l.MaxLogBytes}, {"max_response_bytes", l.MaxResponseBytes}, {"max_request_bytes", l.MaxRequestBytes}} {
			if kv.v > 0 {
				parts = append(parts, fmt.Sprintf("%s=%d", kv.name, kv.v))
			}
		}
		if len(parts) > 0 {
			out = append(out, "limits: "+strings.Join(parts, ", "))
		}
	}
	if c.NeedsApproval {
		out = append(out, "approval: every call asks you first")
	} else if c.Sensitive || c.InjectsSecrets() {
		out = append(out, "approval: asks you first when the conversation has taken in untrusted content")
	}
	if len(out) == 0 {
		out = append(out, "nothing: no network, no secrets, no workspace, no other tools")
	}
	return out
}

func describeInject(inject string) string {
	switch {
	case inject == InjectBearer:
		return "Authorization: Bearer"
	case inject == InjectBasic:
		return "Authorization: Basic"
	case strings.HasPrefix(inject, InjectHeader):
		return "header " + inject[len(InjectHeader):]
	case strings.HasPrefix(inject, InjectQuery):
		return "query parameter " + inject[len(InjectQuery):]
	}
	return inject
}
