// Package httpgate is the only way a sandboxed tool reaches the network.
// Every request goes through the same pipeline:
//
//  1. Normalize the URL (refuse user information, encoded separators,
//     double encoding, control characters; resolve dot segments,
//     including encoded ones, refusing any that climb above the root).
//  2. Check method, scheme, host, port and path against the tool's
//     allowlist.
//  3. Scan the URL, headers and body for leaks (stored secret values and
//     their encodings, credential formats); any finding blocks the
//     request.
//  4. Inject credentials the capabilities name for this host; the tool
//     cannot set or override those headers or query parameters.
//  5. Send it with the gate's own client: no proxy from the environment;
//     the dialer resolves the name itself and refuses loopback, private,
//     link-local and reserved addresses unless the endpoint says
//     allow_private, so DNS rebinding cannot reach the host's network;
//     TLS is verified against the URL's host name.
//  6. Redirects are not followed by the client: each hop goes through the
//     whole pipeline again, with credentials re-chosen for the new host.
//  7. Read at most the response limit (decompressed), refuse encodings
//     the tool would have to undo itself, and scan the response: a stored
//     secret blocks it, credential formats are redacted.
//
// Every hop yields a Record for the audit log, with blocked reasons and
// the names (never values) of injected secrets.
package httpgate

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/hearthbot/hearth/engine/leak"
	"github.com/hearthbot/hearth/sandbox/caps"
)

// Stages at which a request can be blocked.
const (
	StageURL       = "url"
	StageAllowlist = "allowlist"
	StageRequest   = "request"
	StageLeak      = "leak"
	StageNetwork   = "network"
	StageRedirect  = "redirect"
	StageResponse  = "response"
)

// BlockedError is a request the pipeline refused on policy grounds.
type BlockedError struct {
	Stage  string
	Reason string
}

// Error names the stage and the reason.
func (e *BlockedError) Error() string { return "blocked (" + e.Stage + "): " + e.Reason }

// FailedError is a request that was allowed but did not complete
// (timeout, refused connection, bad certificate). Its message is safe to
// show the tool: it never contains injected credentials.
type FailedError struct {
	Reason string
}

// Error returns the reason.
func (e *FailedError) Error() string { return e.Reason }

// Resolver looks up a host's addresses; *net.Resolver satisfies it.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// DialFunc connects to an address ("ip:port").
type DialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// Options configure a Gate. The zero value uses the system resolver,
// a plain dialer and the system root certificates.
type Options struct {
	// Resolver replaces DNS (tests map real names to fake servers).
	Resolver Resolver
	// Dial replaces the TCP dialer; it always receives an IP address
	// that passed the address check.
	Dial DialFunc
	// RootCAs replaces the system roots (tests trust a local CA).
	RootCAs *x509.CertPool
	// MaxRedirects bounds the hops followed (default 5).
	MaxRedirects int
	// DefaultTimeout bounds a request that names none (default 30s).
	DefaultTimeout time.Duration
	// UserAgent is sent when the tool sets none.
	UserAgent string
	Logger    *slog.Logger
}

// Gate sends requests for one tool. Each tool gets its own Gate (and so
// its own connection pool).
type Gate struct {
	opts      Options
	transport *http.Transport
	client    *http.Client
	log       *slog.Logger
}

// New returns a Gate.
func New(opts Options) *Gate {
	if opts.Resolver == nil {
		opts.Resolver = net.DefaultResolver
	}
	if opts.Dial == nil {
		d := &net.Dialer{Timeout: 10 * time.Second}
		opts.Dial = d.DialContext
	}
	if opts.MaxRedirects <= 0 {
		opts.MaxRedirects = 5
	}
	if opts.DefaultTimeout <= 0 {
		opts.DefaultTimeout = 30 * time.Second
	}
	if opts.UserAgent == "" {
		opts.UserAgent = "Hearth-Sandbox/1"
	}
	g := &Gate{opts: opts, log: opts.Logger}
	if g.log == nil {
		g.log = slog.New(slog.DiscardHandler)
	}
	g.transport = &http.Transport{
		Proxy:                  nil, // never from the environment
		DialContext:            g.dial,
		TLSClientConfig:        &tls.Config{RootCAs: opts.RootCAs, MinVersion: tls.VersionTLS12},
		ForceAttemptHTTP2:      true,
		TLSHandshakeTimeout:    10 * time.Second,
		ResponseHeaderTimeout:  30 * time.Second,
		MaxResponseHeaderBytes: 64 << 10,
		IdleConnTimeout:        30 * time.Second,
		MaxIdleConnsPerHost:    4,
	}
	g.client = &http.Client{
		Transport:     g.transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return g
}

// Close drops idle connections.
func (g *Gate) Close() { g.transport.CloseIdleConnections() }

// SecretFunc returns the value of a secret for injection; ok is false
// when the user has not set it.
type SecretFunc func(ctx context.Context, name string) (value string, ok bool, err error)

// Policy is what one execution may do.
type Policy struct {
	Caps *caps.Capabilities
	// Detector holds the user's secrets; it scans both directions.
	Detector *leak.Detector
	// Secret fetches values to inject (nil: nothing is injected).
	Secret SecretFunc
	// MaxRequestBytes and MaxResponseBytes cap bodies.
	MaxRequestBytes  int
	MaxResponseBytes int
	// UserAgent overrides the gate's default.
	UserAgent string
}

// Request is a tool's HTTP request.
type Request struct {
	Method    string            `json:"method"`
	URL       string            `json:"url"`
	Headers   map[string]string `json:"headers,omitempty"`
	Body      []byte            `json:"body,omitempty"`
	TimeoutMS int               `json:"timeout_ms,omitempty"`
}

// Response is what the tool gets back.
type Response struct {
	Status    int               `json:"status"`
	Headers   map[string]string `json:"headers,omitempty"`
	Body      []byte            `json:"body,omitempty"`
	Truncated bool              `json:"truncated,omitempty"`
	URL       string            `json:"url,omitempty"`
}

// Record describes one hop for the audit log. URLs are as the tool wrote
// them after normalisation (no injected credentials) and redacted.
type Record struct {
	Method        string        `json:"method"`
	URL           string        `json:"url"`
	Status        int           `json:"status,omitempty"`
	RequestBytes  int           `json:"request_bytes,omitempty"`
	ResponseBytes int           `json:"response_bytes,omitempty"`
	Duration      time.Duration `json:"duration_ns,omitempty"`
	Injected      []string      `json:"injected,omitempty"`
	Missing       []string      `json:"missing_secrets,omitempty"`
	Blocked       string        `json:"blocked,omitempty"`
	Failed        string        `json:"failed,omitempty"`
	Redacted      string        `json:"redacted,omitempty"`
	Warnings      string        `json:"warnings,omitempty"`
}

// forbiddenHeaders are set by the transport or the host, never by a tool.
var forbiddenHeaders = map[string]bool{
	"host": true, "content-length": true, "transfer-encoding": true, "connection": true, "keep-alive": true,
	"upgrade": true, "te": true, "trailer": true, "proxy-authorization": true, "proxy-connection": true,
	"accept-encoding": true, "expect": true,
}

type dialPolicyKey struct{}

// dialPolicy tells the dialer whether private addresses are allowed.
type dialPolicy struct {
	allowPrivate bool
}

// Do runs req through the pipeline. It returns the response, a record
// per hop, and a *BlockedError or *FailedError when the request did not
// produce a response.
func (g *Gate) Do(ctx context.Context, p *Policy, req Request) (Response, []Record, error) {
	if p == nil || p.Caps == nil || p.Detector == nil {
		return Response{}, nil, &BlockedError{Stage: StageAllowlist, Reason: "no network policy"}
	}
	if len(req.Body) > p.MaxRequestBytes {
		return Response{}, nil, &BlockedError{Stage: StageRequest, Reason: fmt.Sprintf("the request body is %d bytes; the limit is %d", len(req.Body), p.MaxRequestBytes)}
	}
	if err := checkHeaders(req.Headers); err != nil {
		return Response{}, nil, err
	}
	timeout := g.opts.DefaultTimeout
	if req.TimeoutMS > 0 {
		timeout = min(timeout, time.Duration(req.TimeoutMS)*time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	method, rawURL, body := req.Method, req.URL, req.Body
	var records []Record
	for hop := 0; ; hop++ {
		resp, rec, next, err := g.hop(ctx, p, method, rawURL, req.Headers, body, hop > 0)
		records = append(records, rec)
		if err != nil || next == "" {
			return resp, records, err
		}
		if hop >= g.opts.MaxRedirects {
			return Response{}, records, &BlockedError{Stage: StageRedirect, Reason: fmt.Sprintf("more than %d redirects", g.opts.MaxRedirects)}
		}
		if resp.Status == http.StatusSeeOther || ((resp.Status == http.StatusMovedPermanently || resp.Status == http.StatusFound) && method != http.MethodGet && method != http.MethodHead) {
			method, body = http.MethodGet, nil
		}
		rawURL = next
	}
}

// hop sends one request; next is the absolute redirect target, if any.
func (g *Gate) hop(ctx context.Context, p *Policy, method, rawURL string, headers map[string]string, body []byte, redirected bool) (Response, Record, string, error) {
	start := time.Now()
	rec := Record{Method: strings.ToUpper(method), URL: redactURL(p.Detector, rawURL)}
	block := func(stage, reason string) (Response, Record, string, error) {
		if redirected && stage == StageAllowlist {
			stage = StageRedirect
			reason = "redirect refused: " + reason
		}
		rec.Blocked = stage + ": " + reason
		return Response{}, rec, "", &BlockedError{Stage: stage, Reason: reason}
	}

	u, target, err := Normalize(method, rawURL)
	if err != nil {
		var be *BlockedError
		errors.As(err, &be)
		return block(be.Stage, be.Reason)
	}
	rec.Method = target.Method
	rec.URL = redactURL(p.Detector, u.String())
	ep, err := p.Caps.Allow(target)
	if err != nil {
		return block(StageAllowlist, err.Error())
	}

	// Leak scan of everything the tool wrote, before anything is added.
	if f := scanOutbound(p.Detector, u, headers, body); leak.Strictest(f) == leak.ActionBlock || leak.Strictest(f) == leak.ActionRedact {
		return block(StageLeak, "the request carries "+leak.Describe(f)+"; it was not sent")
	} else if len(f) > 0 {
		rec.Warnings = leak.Describe(f)
	}

	hreq, err := http.NewRequestWithContext(context.WithValue(ctx, dialPolicyKey{}, dialPolicy{allowPrivate: ep.AllowPrivate}),
		target.Method, u.String(), bytes.NewReader(body))
	if err != nil {
		return block(StageRequest, "cannot build the request")
	}
	if len(body) == 0 {
		hreq.Body = http.NoBody
	}
	for k, v := range headers {
		hreq.Header.Set(k, v)
	}
	if hreq.Header.Get("User-Agent") == "" {
		ua := p.UserAgent
		if ua == "" {
			ua = g.opts.UserAgent
		}
		hreq.Header.Set("User-Agent", ua)
	}
	if err := g.inject(ctx, p, hreq, target, &rec); err != nil {
		var be *BlockedError
		if errors.As(err, &be) {
			return block(be.Stage, be.Reason)
		}
		rec.Failed = err.Error()
		return Response{}, rec, "", err
	}
	rec.RequestBytes = len(body)

	resp, err := g.client.Do(hreq)
	if err != nil {
		var be *BlockedError
		if errors.As(err, &be) {
			return block(be.Stage, be.Reason)
		}
		fe := &FailedError{Reason: describeFailure(ctx, target.Host, err, p.Detector)}
		rec.Failed = fe.Reason
		rec.Duration = time.Since(start)
		return Response{}, rec, "", fe
	}
	defer resp.Body.Close()
	rec.Status = resp.StatusCode
	rec.Duration = time.Since(start)

	if loc := resp.Header.Get("Location"); resp.StatusCode >= 300 && resp.StatusCode < 400 && loc != "" {
		next, err := u.Parse(loc)
		if err != nil {
			return block(StageRedirect, "the redirect target does not parse")
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return Response{Status: resp.StatusCode}, rec, next.String(), nil
	}

	if enc := resp.Header.Get("Content-Encoding"); enc != "" && !strings.EqualFold(enc, "identity") {
		return block(StageResponse, fmt.Sprintf("the response is %s-encoded, which the host cannot scan; it was withheld", enc))
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, int64(p.MaxResponseBytes)+1))
	if err != nil {
		fe := &FailedError{Reason: describeFailure(ctx, target.Host, err, p.Detector)}
		rec.Failed = fe.Reason
		return Response{}, rec, "", fe
	}
	out := Response{Status: resp.StatusCode, Headers: map[string]string{}, URL: u.String()}
	if len(data) > p.MaxResponseBytes {
		data, out.Truncated = data[:p.MaxResponseBytes], true
	}
	rec.ResponseBytes = len(data)
	for k, vs := range resp.Header {
		out.Headers[k] = strings.Join(vs, ", ")
	}

	// Leak scan of the response: a stored secret withholds it all;
	// credential formats are redacted.
	var hdrText strings.Builder
	for k, v := range out.Headers {
		hdrText.WriteString(k + ": " + v + "\n")
	}
	all := append(p.Detector.Scan(hdrText.String()), p.Detector.Scan(string(data))...)
	for _, f := range all {
		if f.Rule == leak.RuleStoredSecret || f.Action == leak.ActionBlock {
			return block(StageResponse, "the response contained "+leak.Describe(all)+"; it was withheld")
		}
	}
	if len(all) > 0 {
		if leak.Strictest(all) == leak.ActionWarn {
			rec.Warnings = strings.Trim(rec.Warnings+"; "+leak.Describe(all), "; ")
		} else {
			red, _ := p.Detector.Redact(string(data))
			data = []byte(red)
			for k, v := range out.Headers {
				out.Headers[k], _ = p.Detector.Redact(v)
			}
			rec.Redacted = leak.Describe(all)
		}
	}
	out.Body = data
	return out, rec, "", nil
}

// inject adds the credentials the capabilities grant for the target.
func (g *Gate) inject(ctx context.Context, p *Policy, hreq *http.Request, t caps.Target, rec *Record) error {
	grants := p.Caps.SecretsFor(t.Host, t.Port, t.Scheme)
	if len(grants) == 0 {
		return nil
	}
	q := hreq.URL.Query()
	queryChanged := false
	for _, s := range grants {
		var header string
		switch {
		case s.Inject == caps.InjectBearer, s.Inject == caps.InjectBasic:
			header = "Authorization"
		case strings.HasPrefix(s.Inject, caps.InjectHeader):
			header = s.Inject[len(caps.InjectHeader):]
		case strings.HasPrefix(s.Inject, caps.InjectQuery):
			if q.Has(s.Inject[len(caps.InjectQuery):]) {
				return &BlockedError{Stage: StageRequest, Reason: fmt.Sprintf("query parameter %q is set by the host for secret %s", s.Inject[len(caps.InjectQuery):], s.Name)}
			}
		}
		if header != "" && hreq.Header.Get(header) != "" {
			return &BlockedError{Stage: StageRequest, Reason: fmt.Sprintf("header %s is set by the host for secret %s", header, s.Name)}
		}
		if p.Secret == nil {
			rec.Missing = append(rec.Missing, s.Name)
			continue
		}
		value, ok, err := p.Secret(ctx, s.Name)
		if err != nil {
			return &FailedError{Reason: fmt.Sprintf("secret %s could not be read", s.Name)}
		}
		if !ok {
			rec.Missing = append(rec.Missing, s.Name)
			continue
		}
		switch {
		case s.Inject == caps.InjectBearer:
			hreq.Header.Set("Authorization", "Bearer "+value)
		case s.Inject == caps.InjectBasic:
			hreq.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(value)))
		case header != "":
			hreq.Header.Set(header, value)
		default:
			q.Set(s.Inject[len(caps.InjectQuery):], value)
			queryChanged = true
		}
		rec.Injected = append(rec.Injected, s.Name)
	}
	if queryChanged {
		hreq.URL.RawQuery = q.Encode()
	}
	return nil
}

// dial resolves the host itself, refuses forbidden addresses (unless the
// endpoint allows private ones) and connects only to checked addresses.
func (g *Gate) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	pol, _ := ctx.Value(dialPolicyKey{}).(dialPolicy)
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, &BlockedError{Stage: StageNetwork, Reason: "bad address " + addr}
	}
	var addrs []netip.Addr
	if ip, err := netip.ParseAddr(host); err == nil {
		addrs = []netip.Addr{ip}
	} else {
		addrs, err = g.opts.Resolver.LookupNetIP(ctx, "ip", host)
		if err != nil {
			return nil, &FailedError{Reason: "cannot resolve " + host}
		}
		if len(addrs) == 0 {
			return nil, &FailedError{Reason: host + " has no addresses"}
		}
	}
	if !pol.allowPrivate {
		for _, a := range addrs {
			if why, bad := ForbiddenAddr(a); bad {
				return nil, &BlockedError{Stage: StageNetwork, Reason: fmt.Sprintf("%s resolves to %s (%s); the sandbox does not connect to it", host, a.Unmap(), why)}
			}
		}
	}
	var lastErr error
	for _, a := range addrs {
		conn, err := g.opts.Dial(ctx, network, net.JoinHostPort(a.Unmap().String(), port))
		if err == nil {
			return conn, nil
		}
		lastErr = err
	}
	return nil, lastErr
}

// checkHeaders refuses headers a tool may not set and malformed ones.
func checkHeaders(h map[string]string) error {
	if len(h) > 64 {
		return &BlockedError{Stage: StageRequest, Reason: "more than 64 headers"}
	}
	for k, v := range h {
		if !isToken(k) {
			return &BlockedError{Stage: StageRequest, Reason: fmt.Sprintf("header name %q is not valid", k)}
		}
		if forbiddenHeaders[strings.ToLower(k)] {
			return &BlockedError{Stage: StageRequest, Reason: fmt.Sprintf("header %s is set by the host, not the tool", k)}
		}
		if len(v) > 8<<10 || strings.ContainsAny(v, "\r\n\x00") {
			return &BlockedError{Stage: StageRequest, Reason: fmt.Sprintf("header %s has a value over 8 KiB or with CR, LF or NUL", k)}
		}
	}
	return nil
}

// scanOutbound scans the URL (raw and decoded), headers and body.
func scanOutbound(d *leak.Detector, u *url.URL, headers map[string]string, body []byte) []leak.Finding {
	var b strings.Builder
	b.WriteString(u.String())
	b.WriteByte('\n')
	if dec, err := url.QueryUnescape(u.RawQuery); err == nil {
		b.WriteString(dec)
		b.WriteByte('\n')
	}
	b.WriteString(u.Path)
	b.WriteByte('\n')
	for k, v := range headers {
		b.WriteString(k + ": " + v + "\n")
	}
	b.Write(body)
	return d.Scan(b.String())
}

func redactURL(d *leak.Detector, s string) string {
	if len(s) > 2048 {
		s = s[:2048] + "…"
	}
	r, _ := d.Redact(s)
	return r
}

// describeFailure explains a transport error without echoing the request
// URL (which may carry an injected query credential).
func describeFailure(ctx context.Context, host string, err error, d *leak.Detector) string {
	var fe *FailedError
	var ue *url.Error
	var cve *tls.CertificateVerificationError
	var ope *net.OpError
	switch {
	case errors.As(err, &fe):
		return fe.Reason
	case errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil:
		return "the request to " + host + " timed out"
	case errors.As(err, &cve):
		return "the TLS certificate of " + host + " is not valid: " + cve.Err.Error()
	case errors.As(err, &ope) && ope.Op == "dial":
		return "could not connect to " + host
	case errors.As(err, &ue):
		err = ue.Err
	}
	msg, _ := d.Redact("the request to " + host + " failed: " + err.Error())
	return msg
}
