package provider

import (
	"errors"
	"net/http"
	"time"
)

// Settings configure one provider client. engine/llm builds them from its
// validated Config; tests may build them directly.
type Settings struct {
	// Name labels the provider in errors, logs and ChatResponse.Provider.
	Name string
	// BaseURL is the API base; empty means the vendor's hosted API.
	BaseURL string
	// APIKey may be empty (local servers); then no credential header is sent.
	APIKey string
	// Model is used when the request does not name one.
	Model string
	// MaxTokens caps the answer when the request does not; 0 means the
	// provider's default (Anthropic, which requires a value, uses 4096).
	MaxTokens int
	// Timeout bounds one call, streaming included; 0 means no bound beyond ctx.
	Timeout time.Duration
	// HTTPClient is used for every request; nil means a private client.
	HTTPClient *http.Client
	// Now is the clock for HTTP-date Retry-After values; nil means time.Now.
	Now func() time.Time
}

// Check reports settings a provider cannot work with.
func (s Settings) Check() error {
	if s.Model == "" {
		return errors.New("provider: model is required")
	}
	if s.MaxTokens < 0 {
		return errors.New("provider: max tokens must not be negative")
	}
	return nil
}

// Clock returns s.Now or time.Now.
func (s Settings) Clock() func() time.Time {
	if s.Now != nil {
		return s.Now
	}
	return time.Now
}

// Client returns s.HTTPClient or a new client suited to many concurrent calls.
func (s Settings) Client() *http.Client {
	if s.HTTPClient != nil {
		return s.HTTPClient
	}
	return NewHTTPClient()
}

// NewHTTPClient returns an HTTP client whose transport keeps enough idle
// connections per host for many concurrent sessions. It sets no overall
// timeout: calls are bounded by their context (streams can be long).
func NewHTTPClient() *http.Client {
	t, ok := http.DefaultTransport.(*http.Transport)
	if ok {
		t = t.Clone()
	} else {
		t = &http.Transport{Proxy: http.ProxyFromEnvironment, ForceAttemptHTTP2: true}
	}
	t.MaxIdleConns = 256
	t.MaxIdleConnsPerHost = 128
	t.ResponseHeaderTimeout = 10 * time.Minute
	return &http.Client{Transport: t}
}
