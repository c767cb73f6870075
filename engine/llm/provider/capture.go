package provider

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"
)

// Capture records the HTTP status and headers of one SDK call and checks
// that a successful response has the content type the call expects. Both
// SDKs accept its Middleware method (their Middleware types are aliases of
// the same function type). A Capture is used for one call only.
type Capture struct {
	// Stream is true for a streamed call (text/event-stream expected).
	Stream bool
	// Provider names the provider in the errors built from this call.
	Provider string

	status int
	header http.Header
}

// Middleware is an SDK middleware that records the response and turns a 2xx
// answer with the wrong content type into a *Error of KindBadResponse.
func (c *Capture) Middleware(req *http.Request, next func(*http.Request) (*http.Response, error)) (*http.Response, error) {
	res, err := next(req)
	if err != nil || res == nil {
		return res, err
	}
	c.status, c.header = res.StatusCode, res.Header.Clone()
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return res, nil
	}
	want := "application/json"
	if c.Stream {
		want = "text/event-stream"
	}
	if got := mediaType(res.Header.Get("Content-Type")); !contentTypeOK(got, want) {
		drainClose(res.Body)
		shown := got
		if shown == "" {
			shown = "none"
		}
		return nil, BadResponse(c.Provider,
			fmt.Sprintf("unexpected content type %q, expected %s", shown, want),
			fmt.Errorf("content type %q", got))
	}
	return res, nil
}

// Status is the HTTP status seen, 0 when no response arrived.
func (c *Capture) Status() int { return c.status }

// Header is the response header seen, nil when no response arrived.
func (c *Capture) Header() http.Header { return c.header }

func mediaType(ct string) string {
	if mt, _, err := mime.ParseMediaType(ct); err == nil {
		return mt
	}
	return strings.ToLower(strings.TrimSpace(ct))
}

func contentTypeOK(got, want string) bool {
	if want == "application/json" {
		return got == want || strings.HasSuffix(got, "+json")
	}
	return got == want
}

func drainClose(body io.ReadCloser) {
	if body == nil {
		return
	}
	_, _ = io.CopyN(io.Discard, body, 4096)
	_ = body.Close()
}

// Classify turns whatever an SDK call returned into a *Error. ctx is the
// call's context, c the capture installed on the call, now the clock used
// for HTTP-date Retry-After values.
func Classify(ctx context.Context, c *Capture, err error, now time.Time) *Error {
	if err == nil {
		return nil
	}
	var pe *Error
	if errors.As(err, &pe) {
		if pe.Provider == "" {
			pe.Provider = c.Provider
		}
		return pe
	}
	if e := FromContext(c.Provider, ctx, err); e != nil {
		return e
	}
	switch {
	case c.status >= 400:
		return FromStatus(c.Provider, c.status, c.header, now, err)
	case c.status >= 200:
		return BadResponse(c.Provider, "the response body could not be decoded", err)
	default:
		return &Error{Provider: c.Provider, Kind: KindUnreachable, Retryable: true,
			Detail: "no HTTP response", Err: err}
	}
}

// StreamError builds the error for an error raised while reading a stream
// whose HTTP response was 2xx: an error event from the provider, a read
// failure or undecodable event data. ctx is checked first so that a
// deadline in the middle of a stream reads as a timeout.
func StreamError(ctx context.Context, c *Capture, err error, eventError bool) *Error {
	if e := FromContext(c.Provider, ctx, err); e != nil {
		return e
	}
	var pe *Error
	if errors.As(err, &pe) {
		return pe
	}
	if eventError {
		return &Error{Provider: c.Provider, Kind: KindStream, Retryable: true,
			Detail: "the provider reported an error in the stream", Err: err}
	}
	return BadResponse(c.Provider, "the stream could not be read or decoded", err)
}
