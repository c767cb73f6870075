package guest

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// HostError is an error the host reported for a call: a request the
// capabilities do not allow, a limit reached, an upstream failure.
type HostError struct {
	// Code is one of: blocked (policy refused it), limit (a per-call or
	// rate limit), invalid (bad request), not_found, failed (upstream or
	// transport failure), unavailable (the host has no such service).
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Error returns "code: message".
func (e *HostError) Error() string { return e.Code + ": " + e.Message }

// IsBlocked reports whether err is a host refusal on policy grounds.
func IsBlocked(err error) bool {
	var he *HostError
	return errors.As(err, &he) && he.Code == "blocked"
}

// Request is an HTTP request the host makes on the tool's behalf, after
// checking it against the tool's capabilities and injecting credentials.
type Request struct {
	Method  string            `json:"method"`
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers,omitempty"`
	// Body travels base64-encoded in the JSON payload.
	Body []byte `json:"body,omitempty"`
	// TimeoutMS bounds the request (the host caps it by what is left of
	// the call's deadline).
	TimeoutMS int `json:"timeout_ms,omitempty"`
}

// Response is the host's answer to a Request.
type Response struct {
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    []byte            `json:"body,omitempty"`
	// Truncated reports that the body was cut at the size limit.
	Truncated bool `json:"truncated,omitempty"`
	// URL is the final URL after redirects.
	URL string `json:"url,omitempty"`
}

// hostReply is the envelope of every host call that returns data.
type hostReply struct {
	OK    json.RawMessage `json:"ok,omitempty"`
	Error *HostError      `json:"error,omitempty"`
}

// call sends a JSON request through one of the data-returning imports and
// decodes the ok value into out.
func call(fn func([]byte) ([]byte, error), req any, out any) error {
	in, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("guest: encode request: %w", err)
	}
	raw, err := fn(in)
	if err != nil {
		return err
	}
	var rep hostReply
	if err := json.Unmarshal(raw, &rep); err != nil {
		return fmt.Errorf("guest: decode host reply: %w", err)
	}
	if rep.Error != nil {
		return rep.Error
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(rep.OK, out)
}

// Log writes a line to the host's log for this tool. The host caps the
// volume per call; past the cap the call is stopped.
func (c *Context) Log(level Level, msg string) { hostLog(level, msg) }

// Logf formats and logs at info level.
func (c *Context) Logf(format string, args ...any) { hostLog(LevelInfo, fmt.Sprintf(format, args...)) }

// Now is the host's wall-clock time.
func (c *Context) Now() time.Time { return time.UnixMilli(hostNowMillis()) }

// HTTP makes a request through the host's pipeline. Errors of type
// *HostError say why the host refused or failed; a response with any
// status (404, 500) is not an error.
func (c *Context) HTTP(req Request) (*Response, error) {
	var resp Response
	if err := call(hostHTTP, req, &resp); err != nil {
		return nil, err
	}
	return &resp, nil
}

// ReadWorkspace reads a document of the calling user's workspace by
// relative path, within the prefixes the capabilities grant.
func (c *Context) ReadWorkspace(path string) (string, error) {
	var out struct {
		Content string `json:"content"`
	}
	if err := call(hostWorkspaceRead, map[string]string{"path": path}, &out); err != nil {
		return "", err
	}
	return out.Content, nil
}

// SecretExists reports whether the user has set a secret this tool may
// use. The value itself is never available to the tool; the host injects
// it into allowed requests.
func (c *Context) SecretExists(name string) bool { return hostSecretExists(name) }

// InvokeTool calls another tool by an alias the capabilities grant. It
// returns the tool's output; isError reports a tool-level error (which is
// not a Go error).
func (c *Context) InvokeTool(alias string, params any) (output string, isError bool, err error) {
	var out struct {
		Output  string `json:"output"`
		IsError bool   `json:"is_error"`
	}
	req := struct {
		Alias  string `json:"alias"`
		Params any    `json:"params"`
	}{alias, params}
	if err := call(hostToolInvoke, req, &out); err != nil {
		return "", false, err
	}
	return out.Output, out.IsError, nil
}
