// Package caps parses and checks a WASM tool's capabilities file
// (NAME.capabilities.json), the only source of anything the sandbox
// grants a tool: HTTP endpoints, credentials the host injects, workspace
// reads, tools it may invoke, rate limits and resource limits. An empty
// file (or {}) grants nothing. Unknown fields are refused, so a typo can
// never silently widen or narrow a grant. The schema is documented in
// wit/README.md.
package caps

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// ErrInvalid wraps every validation failure; the message names the field.
var ErrInvalid = errors.New("invalid capabilities")

// Capabilities is the parsed, validated capabilities file.
type Capabilities struct {
	// HTTP lists the endpoints the tool may call.
	HTTP []Endpoint `json:"http,omitempty"`
	// Secrets lists the user secrets the host may inject, and where.
	Secrets []Secret `json:"secrets,omitempty"`
	// Tools lists other tools the tool may invoke, by alias.
	Tools []ToolGrant `json:"tools,omitempty"`
	// Workspace grants reads in the calling user's workspace.
	Workspace *Workspace `json:"workspace,omitempty"`
	// RateLimit bounds use over time, per user.
	RateLimit *RateLimit `json:"rate_limit,omitempty"`
	// Limits overrides the host's default per-call limits, within the
	// host's maxima.
	Limits *Limits `json:"limits,omitempty"`
	// NeedsApproval makes every call ask the owner first.
	NeedsApproval bool `json:"needs_approval,omitempty"`
	// Sensitive makes calls need approval while the turn is tainted. A
	// tool that has secrets injected is always sensitive.
	Sensitive bool `json:"sensitive,omitempty"`
}

// Endpoint is one HTTP allowlist entry.
type Endpoint struct {
	// Host is an exact host name ("api.github.com"), or "*.example.com"
	// for any subdomain of example.com (not example.com itself), with an
	// optional ":port" (otherwise only the scheme's default port).
	Host string `json:"host"`
	// PathPrefix limits paths ("/repos/"); default "/". A prefix without
	// a trailing slash matches itself and what lies below it ("/v1"
	// matches "/v1" and "/v1/x", not "/v10").
	PathPrefix string `json:"path_prefix,omitempty"`
	// Methods lists the allowed HTTP methods; required.
	Methods []string `json:"methods"`
	// AllowHTTP permits plain http:// (otherwise https only).
	AllowHTTP bool `json:"allow_http,omitempty"`
	// AllowPrivate permits the host to resolve to loopback, private or
	// link-local addresses. For local test servers only.
	AllowPrivate bool `json:"allow_private,omitempty"`
}

// Injection kinds for Secret.Inject.
const (
	InjectBearer = "bearer"  // Authorization: Bearer VALUE
	InjectBasic  = "basic"   // Authorization: Basic base64(VALUE), VALUE being "user:password"
	InjectHeader = "header:" // header:NAME sets header NAME to VALUE
	InjectQuery  = "query:"  // query:NAME sets query parameter NAME to VALUE
)

// Secret grants the injection of one user secret.
type Secret struct {
	// Name is the secret's name as set with `hearth secrets set`.
	Name string `json:"name"`
	// Inject says where the value goes: bearer, basic, header:NAME or
	// query:NAME.
	Inject string `json:"inject"`
	// Hosts are the host patterns (as in Endpoint.Host) the value may be
	// sent to; each must be covered by an HTTP entry.
	Hosts []string `json:"hosts"`
}

// ToolGrant allows invoking tool Tool under Alias.
type ToolGrant struct {
	Alias string `json:"alias"`
	// Tool is the registered tool name; defaults to Alias.
	Tool string `json:"tool,omitempty"`
}

// Workspace grants reads under path prefixes ("notes/", "daily/"), or
// everywhere with "*".
type Workspace struct {
	Read []string `json:"read"`
}

// RateLimit bounds use per user over a sliding minute; zero means no
// limit beyond the per-call ones.
type RateLimit struct {
	CallsPerMinute int `json:"calls_per_minute,omitempty"`
	HTTPPerMinute  int `json:"http_per_minute,omitempty"`
}

// Limits are per-call resource limits; zero fields keep the host default.
type Limits struct {
	MemoryMiB          int `json:"memory_mib,omitempty"`
	TimeoutMS          int `json:"timeout_ms,omitempty"`
	MaxOutputBytes     int `json:"max_output_bytes,omitempty"`
	MaxHTTPRequests    int `json:"max_http_requests,omitempty"`
	MaxToolInvocations int `json:"max_tool_invocations,omitempty"`
	MaxLogBytes        int `json:"max_log_bytes,omitempty"`
	MaxResponseBytes   int `json:"max_response_bytes,omitempty"`
	MaxRequestBytes    int `json:"max_request_bytes,omitempty"`
}

// Parse decodes and validates a capabilities file. Empty input grants
// nothing. Unknown fields, trailing data and invalid values are errors
// wrapping ErrInvalid and naming the field.
func Parse(data []byte) (Capabilities, error) {
	var c Capabilities
	if len(bytes.TrimSpace(data)) == 0 {
		return c, nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return Capabilities{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Capabilities{}, fmt.Errorf("%w: trailing data after the JSON object", ErrInvalid)
	}
	if err := c.normalize(); err != nil {
		return Capabilities{}, err
	}
	return c, nil
}

func invalid(field, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrInvalid, field, fmt.Sprintf(format, args...))
}

var knownMethods = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}

// normalize validates every field and fills defaults in place.
func (c *Capabilities) normalize() error {
	privateByHost := map[string]bool{}
	for i := range c.HTTP {
		e := &c.HTTP[i]
		field := fmt.Sprintf("http[%d]", i)
		host, err := NormalizeHostPattern(e.Host)
		if err != nil {
			return invalid(field+".host", "%v", err)
		}
		e.Host = host
		if e.PathPrefix == "" {
			e.PathPrefix = "/"
		}
		if err := checkPathPrefix(e.PathPrefix); err != nil {
			return invalid(field+".path_prefix", "%v", err)
		}
		if len(e.Methods) == 0 {
			return invalid(field+".methods", "required (for example [\"GET\"])")
		}
		for j, m := range e.Methods {
			up := strings.ToUpper(m)
			if !slices.Contains(knownMethods, up) {
				return invalid(fmt.Sprintf("%s.methods[%d]", field, j), "unknown method %q (want one of %s)", m, strings.Join(knownMethods, ", "))
			}
			e.Methods[j] = up
		}
		if prev, ok := privateByHost[host]; ok && prev != e.AllowPrivate {
			return invalid(field+".allow_private", "entries for host %q disagree on allow_private", host)
		}
		privateByHost[host] = e.AllowPrivate
	}
	seen := map[string]bool{}
	for i := range c.Secrets {
		s := &c.Secrets[i]
		field := fmt.Sprintf("secrets[%d]", i)
		if err := ValidateSecretName(s.Name); err != nil {
			return invalid(field+".name", "%v", err)
		}
		if err := checkInject(s.Inject); err != nil {
			return invalid(field+".inject", "%v", err)
		}
		if len(s.Hosts) == 0 {
			return invalid(field+".hosts", "required: the hosts the secret may be sent to")
		}
		for j, h := range s.Hosts {
			host, err := NormalizeHostPattern(h)
			if err != nil {
				return invalid(fmt.Sprintf("%s.hosts[%d]", field, j), "%v", err)
			}
			if !c.coversHost(host) {
				return invalid(fmt.Sprintf("%s.hosts[%d]", field, j), "host %q has no http entry", host)
			}
			s.Hosts[j] = host
		}
		key := s.Name + "\x00" + s.Inject
		if seen[key] {
			return invalid(field, "secret %q is listed twice with inject %q", s.Name, s.Inject)
		}
		seen[key] = true
	}
	aliases := map[string]bool{}
	for i := range c.Tools {
		t := &c.Tools[i]
		field := fmt.Sprintf("tools[%d]", i)
		if t.Tool == "" {
			t.Tool = t.Alias
		}
		if err := ValidateToolName(t.Alias); err != nil {
			return invalid(field+".alias", "%v", err)
		}
		if err := ValidateToolName(t.Tool); err != nil {
			return invalid(field+".tool", "%v", err)
		}
		if aliases[t.Alias] {
			return invalid(field+".alias", "alias %q is listed twice", t.Alias)
		}
		aliases[t.Alias] = true
	}
	if c.Workspace != nil {
		if len(c.Workspace.Read) == 0 {
			return invalid("workspace.read", "required: path prefixes such as \"notes/\", or \"*\"")
		}
		for i, p := range c.Workspace.Read {
			if err := checkWorkspacePrefix(p); err != nil {
				return invalid(fmt.Sprintf("workspace.read[%d]", i), "%v", err)
			}
		}
	}
	if r := c.RateLimit; r != nil && (r.CallsPerMinute < 0 || r.HTTPPerMinute < 0) {
		return invalid("rate_limit", "values must not be negative")
	}
	if l := c.Limits; l != nil {
		for name, v := range l.fields() {
			if v < 0 {
				return invalid("limits."+name, "must not be negative, got %d", v)
			}
		}
	}
	return nil
}

// fields lists the limits by their JSON names.
func (l *Limits) fields() map[string]int {
	return map[string]int{
		"memory_mib": l.MemoryMiB, "timeout_ms": l.TimeoutMS, "max_output_bytes": l.MaxOutputBytes,
		"max_http_requests": l.MaxHTTPRequests, "max_tool_invocations": l.MaxToolInvocations,
		"max_log_bytes": l.MaxLogBytes, "max_response_bytes": l.MaxResponseBytes, "max_request_bytes": l.MaxRequestBytes,
	}
}

// coversHost reports whether some HTTP entry's host pattern admits every
// host the secret pattern admits.
func (c *Capabilities) coversHost(pattern string) bool {
	for _, e := range c.HTTP {
		if e.Host == pattern {
			return true
		}
		if !strings.HasPrefix(pattern, "*.") && HostMatches(e.Host, pattern) {
			return true
		}
		if strings.HasPrefix(pattern, "*.") && strings.HasPrefix(e.Host, "*.") && strings.HasSuffix(pattern, e.Host[1:]) {
			return true
		}
	}
	return false
}

func checkInject(s string) error {
	switch {
	case s == InjectBearer, s == InjectBasic:
		return nil
	case strings.HasPrefix(s, InjectHeader):
		name := s[len(InjectHeader):]
		if !isToken(name) {
			return fmt.Errorf("header name %q is not a valid HTTP header name", name)
		}
		if forbiddenHeader(name) {
			return fmt.Errorf("header %q cannot carry a secret", name)
		}
		return nil
	case strings.HasPrefix(s, InjectQuery):
		name := s[len(InjectQuery):]
		if name == "" || strings.ContainsAny(name, "&=#?% ") {
			return fmt.Errorf("query parameter name %q is empty or has reserved characters", name)
		}
		return nil
	}
	return fmt.Errorf("unknown injection %q (want bearer, basic, header:NAME or query:NAME)", s)
}

// forbiddenHeader names headers a secret may not be injected into because
// they control the connection or the framing of the request.
func forbiddenHeader(name string) bool {
	switch strings.ToLower(name) {
	case "host", "content-length", "transfer-encoding", "connection", "upgrade", "te", "trailer",
		"keep-alive", "proxy-connection", "content-type", "accept-encoding", "expect":
		return true
	}
	return false
}

func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9') || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
		if !ok {
			return false
		}
	}
	return true
}

func checkPathPrefix(p string) error {
	switch {
	case !strings.HasPrefix(p, "/"):
		return fmt.Errorf("%q must start with /", p)
	case strings.ContainsAny(p, "?#%\\ \t\r\n"):
		return fmt.Errorf("%q must be a plain decoded path (no ?, #, %%, \\ or spaces)", p)
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "." || seg == ".." {
			return fmt.Errorf("%q must not contain . or .. segments", p)
		}
	}
	return nil
}

func checkWorkspacePrefix(p string) error {
	if p == "*" {
		return nil
	}
	switch {
	case p == "":
		return fmt.Errorf("empty prefix (use \"*\" for the whole workspace)")
	case strings.HasPrefix(p, "/") || strings.Contains(p, "\\") || strings.ContainsRune(p, 0):
		return fmt.Errorf("%q must be a relative path", p)
	}
	for _, seg := range strings.Split(strings.TrimSuffix(p, "/"), "/") {
		if seg == "" || seg == "." || seg == ".." {
			return fmt.Errorf("%q has an empty, . or .. segment", p)
		}
	}
	return nil
}

// ValidateToolName checks a tool name or alias: a lower-case letter, then
// up to 63 lower-case letters, digits or underscores.
func ValidateToolName(name string) error {
	if len(name) == 0 || len(name) > 64 || name[0] < 'a' || name[0] > 'z' {
		return fmt.Errorf("%q must be 1-64 characters starting with a lower-case letter", name)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(('a' <= c && c <= 'z') || ('0' <= c && c <= '9') || c == '_') {
			return fmt.Errorf("%q may contain only a-z, 0-9 and _", name)
		}
	}
	return nil
}

// ValidateSecretName checks a secret name: 1-64 characters of letters,
// digits, '_', '-' and '.', starting with a letter.
func ValidateSecretName(name string) error {
	if len(name) == 0 || len(name) > 64 {
		return fmt.Errorf("secret name %q must be 1-64 characters", name)
	}
	first := name[0]
	if !(('a' <= first && first <= 'z') || ('A' <= first && first <= 'Z')) {
		return fmt.Errorf("secret name %q must start with a letter", name)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9') || c == '_' || c == '-' || c == '.') {
			return fmt.Errorf("secret name %q may contain only letters, digits, _, - and .", name)
		}
	}
	return nil
}
