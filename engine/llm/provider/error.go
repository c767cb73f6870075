// Package provider holds what the LLM providers under engine/llm share: the
// typed error every provider returns (re-exported as llm.Error), its
// classification from HTTP responses and transport failures, and small
// helpers for tool-call arguments and finish reasons. It imports no SDK.
package provider

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Kind says what went wrong with a model call, in terms the agent loop can act on.
type Kind string

// Error kinds.
const (
	// KindRateLimited is HTTP 429: the provider asks us to slow down.
	KindRateLimited Kind = "rate_limited"
	// KindUnavailable is a 5xx (or 408/409/529): the provider is failing or overloaded.
	KindUnavailable Kind = "unavailable"
	// KindAuth is 401/403: the credentials were refused.
	KindAuth Kind = "auth"
	// KindBadRequest is any other 4xx: the provider refused this request.
	KindBadRequest Kind = "bad_request"
	// KindTimeout means no complete answer arrived before the deadline.
	KindTimeout Kind = "timeout"
	// KindCanceled means the caller cancelled the call.
	KindCanceled Kind = "canceled"
	// KindUnreachable means no HTTP response at all (connection refused, DNS, reset).
	KindUnreachable Kind = "unreachable"
	// KindBadResponse means the provider answered 2xx with something that is
	// not a valid answer: wrong content type, invalid JSON, a truncated stream.
	KindBadResponse Kind = "bad_response"
	// KindStream is an error event the provider sent inside a stream.
	KindStream Kind = "stream_error"
	// KindInvalidRequest means the request was rejected before it was sent
	// (for example no messages).
	KindInvalidRequest Kind = "invalid_request"
)

// Error is the one error type LLM providers return. Its Error text and
// UserMessage are safe to show: they never contain the API key, the request
// body or the provider's raw response. The underlying cause (which may hold
// SDK details) is reachable with errors.Unwrap for logs and errors.Is
// (context.DeadlineExceeded, context.Canceled).
type Error struct {
	// Provider names the provider configuration that failed (e.g. "openai:127.0.0.1:11434").
	Provider string
	// Status is the HTTP status, 0 when there was no HTTP error response.
	Status int
	// Kind classifies the failure.
	Kind Kind
	// Retryable is true when the same request may succeed later
	// (429, 5xx, connection failures, stream errors).
	Retryable bool
	// RetryAfter is the wait the provider asked for (Retry-After or
	// retry-after-ms), 0 when it did not say.
	RetryAfter time.Duration
	// Detail is a short, safe description written by Hearth (never the raw body).
	Detail string
	// Err is the underlying cause.
	Err error
}

// Error reports provider, status and kind without secrets.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("llm")
	if e.Provider != "" {
		b.WriteString(" ")
		b.WriteString(e.Provider)
	}
	b.WriteString(": ")
	if e.Status != 0 {
		fmt.Fprintf(&b, "%d %s", e.Status, statusPhrase(e.Status))
	} else {
		b.WriteString(strings.ReplaceAll(string(e.Kind), "_", " "))
	}
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, " (retry after %s)", e.RetryAfter)
	}
	return b.String()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// UserMessage is a sentence the agent loop can send to the user as is.
func (e *Error) UserMessage() string {
	switch e.Kind {
	case KindRateLimited, KindUnavailable:
		return fmt.Sprintf("The model provider is unavailable (%d %s), try again later.", e.Status, statusPhrase(e.Status))
	case KindAuth:
		return fmt.Sprintf("The model provider refused Hearth's credentials (%d %s); check llm.api_key.", e.Status, statusPhrase(e.Status))
	case KindBadRequest:
		return fmt.Sprintf("The model provider refused the request (%d %s).", e.Status, statusPhrase(e.Status))
	case KindTimeout:
		return "The model provider did not answer in time, try again later."
	case KindCanceled:
		return "The request to the model was cancelled."
	case KindUnreachable:
		return "The model provider could not be reached; check that it is running and that llm.base_url is right."
	case KindBadResponse, KindStream:
		return "The model provider sent an answer Hearth could not understand, try again later."
	case KindInvalidRequest:
		return "Hearth could not build a valid request for the model: " + e.Detail + "."
	default:
		return "The model provider failed, try again later."
	}
}

func statusPhrase(status int) string {
	switch status {
	case http.StatusTooManyRequests:
		return "rate limited"
	case 529:
		return "overloaded"
	}
	if t := http.StatusText(status); t != "" {
		return strings.ToLower(t)
	}
	return "error"
}

// FromStatus builds the error for an HTTP error response. h may be nil;
// now resolves an HTTP-date Retry-After.
func FromStatus(providerName string, status int, h http.Header, now time.Time, cause error) *Error {
	e := &Error{Provider: providerName, Status: status, Err: cause}
	switch {
	case status == http.StatusTooManyRequests:
		e.Kind, e.Retryable = KindRateLimited, true
	case status == http.StatusRequestTimeout || status == http.StatusConflict || status >= 500:
		e.Kind, e.Retryable = KindUnavailable, true
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		e.Kind = KindAuth
	default:
		e.Kind = KindBadRequest
	}
	if h != nil {
		switch h.Get("x-should-retry") {
		case "true":
			e.Retryable = true
		case "false":
			e.Retryable = false
		}
		e.RetryAfter = ParseRetryAfter(h, now)
	}
	return e
}

// ParseRetryAfter reads retry-after-ms (milliseconds, as OpenAI and
// Anthropic send) or Retry-After (seconds or an HTTP date). It returns 0
// when neither is present or valid.
func ParseRetryAfter(h http.Header, now time.Time) time.Duration {
	if v := strings.TrimSpace(h.Get("retry-after-ms")); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms > 0 {
			return time.Duration(ms * float64(time.Millisecond))
		}
	}
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil {
		if s <= 0 {
			return 0
		}
		return time.Duration(s * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

// FromContext builds the error for a call whose context ended. It returns
// nil when ctx is still live.
func FromContext(providerName string, ctx context.Context, cause error) *Error {
	ctxErr := ctx.Err()
	if ctxErr == nil {
		return nil
	}
	e := &Error{Provider: providerName, Err: errors.Join(ctxErr, cause)}
	if cause == nil {
		e.Err = ctxErr
	}
	if errors.Is(ctxErr, context.DeadlineExceeded) {
		e.Kind, e.Detail = KindTimeout, "no complete answer before the deadline"
	} else {
		e.Kind, e.Detail = KindCanceled, "call cancelled"
	}
	return e
}

// BadResponse builds the error for a 2xx answer that is not a valid answer.
func BadResponse(providerName, detail string, cause error) *Error {
	return &Error{Provider: providerName, Kind: KindBadResponse, Detail: detail, Err: cause}
}

// Invalid builds the error for a request rejected before sending.
func Invalid(providerName, detail string) *Error {
	return &Error{Provider: providerName, Kind: KindInvalidRequest, Detail: detail, Err: errors.New(detail)}
}
