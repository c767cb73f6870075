package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/engine/channelkit"
)

// maxRememberedCallbacks bounds the in-memory map of callback URLs by
// message id; past it an arbitrary entry is forgotten (LookupInbound still
// finds it in the store).
const maxRememberedCallbacks = 10000

// ErrNoRoute reports a message the webhook cannot deliver: it answers no
// request and no default callback URL is configured.
var ErrNoRoute = errors.New("no callback URL for a message that answers no request")

// CallbackEvent is the JSON body POSTed to a callback URL, one per reply
// or notice, signed like requests (X-Hearth-Timestamp, X-Hearth-Signature).
type CallbackEvent struct {
	// ID is the client's id of the message answered ("" for messages
	// that answer none, such as routines).
	ID string `json:"id,omitempty"`
	// User is the sender the message answers, when known.
	User         string `json:"user,omitempty"`
	Conversation string `json:"conversation"`
	Thread       string `json:"thread,omitempty"`
	// Kind is "reply" or "notice".
	Kind string `json:"kind"`
	Text string `json:"text"`
	// Final marks the last reply of a turn.
	Final bool `json:"final,omitempty"`
	// Error marks a reply or notice that reports a failure.
	Error bool `json:"error,omitempty"`
	// Delivery is the idempotency key, also in X-Hearth-Delivery; it is
	// the same on every attempt for one message.
	Delivery string `json:"delivery"`
}

// callbackMemory remembers the callback URL of recent async messages.
type callbackMemory struct {
	mu   sync.Mutex
	max  int
	urls map[string]string
}

func newCallbackMemory(maxEntries int) *callbackMemory {
	return &callbackMemory{max: maxEntries, urls: make(map[string]string)}
}

func (c *callbackMemory) put(msgID, u string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.urls[msgID]; !ok && len(c.urls) >= c.max {
		for k := range c.urls {
			delete(c.urls, k)
			break
		}
	}
	c.urls[msgID] = u
}

func (c *callbackMemory) get(msgID string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.urls[msgID]
}

func (c *callbackMemory) remove(msgID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.urls, msgID)
}

// checkCallbackURL accepts an http(s) URL without credentials whose host
// is in the allowlist (or is loopback, when allowed).
func checkCallbackURL(raw string, hosts []string, allowLoopback bool) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("not a URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("scheme must be http or https, got %q", u.Scheme)
	}
	if u.Host == "" || u.Hostname() == "" {
		return nil, errors.New("URL has no host")
	}
	if u.User != nil {
		return nil, errors.New("URL must not carry credentials")
	}
	host := strings.ToLower(u.Hostname())
	if allowLoopback && channelkit.IsLoopbackHost(host) {
		return u, nil
	}
	hostPort := strings.ToLower(u.Host)
	for _, h := range hosts {
		h = strings.ToLower(h)
		switch {
		case strings.HasPrefix(h, "*."):
			if strings.HasSuffix(host, h[1:]) && len(host) > len(h)-1 {
				return u, nil
			}
		case strings.Contains(h, ":") && !strings.HasPrefix(h, "["):
			if _, _, err := net.SplitHostPort(h); err == nil {
				if h == hostPort {
					return u, nil
				}
			} else if strings.Trim(h, "[]") == host { // a bare IPv6 address
				return u, nil
			}
		default:
			if strings.Trim(h, "[]") == host || h == hostPort {
				return u, nil
			}
		}
	}
	if len(hosts) == 0 && !allowLoopback {
		return nil, errors.New("callbacks are disabled: no callback hosts are configured")
	}
	return nil, fmt.Errorf("host %q is not in the callback allowlist", host)
}

// Send implements engine.Channel. A reply or notice that answers a
// waiting synchronous request completes it; one that answers an async
// request (or none, with a default callback URL) is POSTed to the
// callback, retried with backoff, and Send fails only when every attempt
// failed, so the engine keeps the message in its outbox. The answer of a
// synchronous request whose client left is not an error: it stays in the
// store, where a retry with the same id finds it. Other kinds are ignored.
func (w *Server) Send(ctx context.Context, msg engine.Outbound) (engine.SentMessage, error) {
	if msg.Kind != engine.KindReply && msg.Kind != engine.KindNotice {
		return engine.SentMessage{}, nil
	}
	id := msg.ID
	if id == 0 {
		id = -w.sent.Add(1) // negative: not an outbox id
	}
	sent := engine.SentMessage{ID: strconv.FormatInt(id, 10)}
	if wt, ok := w.waiters.Lookup(msg); ok && wt.add(msg) {
		w.srv.Health().Outbound()
		return sent, nil
	}
	cb, err := w.callbackFor(ctx, msg)
	if err != nil {
		return engine.SentMessage{}, err
	}
	if cb == nil {
		if msg.To.ReplyTo != "" {
			return sent, nil
		}
		return engine.SentMessage{}, fmt.Errorf("webhook: %w; set a default callback URL", ErrNoRoute)
	}
	ev := CallbackEvent{
		Conversation: msg.To.Conversation,
		Thread:       msg.To.Thread,
		Kind:         msg.Kind.String(),
		Text:         msg.Text,
		Final:        msg.Final,
		Error:        msg.Error,
		Delivery:     "hearth-" + engine.NewID(),
	}
	if msg.ID != 0 {
		ev.Delivery = "hearth-out-" + strconv.FormatInt(msg.ID, 10)
	}
	if user, clientID, ok := splitMessageID(msg.To.ReplyTo); ok {
		ev.User, ev.ID = user, clientID
	}
	if err := w.postCallback(ctx, cb, ev); err != nil {
		w.srv.Health().Error(err)
		w.log.Warn("webhook: callback failed", "host", cb.Host, "delivery", ev.Delivery, "err", err)
		return engine.SentMessage{}, err
	}
	if msg.Final && msg.To.ReplyTo != "" {
		w.callbacks.remove(msg.To.ReplyTo) // the turn (or command) is over
	}
	w.srv.Health().Outbound()
	return sent, nil
}

// callbackFor finds where msg goes: the callback its request named
// (remembered, carried in Meta, or looked up in the store) or, for a
// message that answers no request, the default. The URL is checked
// against the current allowlist again. nil means no callback.
func (w *Server) callbackFor(ctx context.Context, msg engine.Outbound) (*url.URL, error) {
	raw := ""
	if msg.To.ReplyTo != "" {
		raw = w.callbacks.get(msg.To.ReplyTo)
	}
	if raw == "" {
		raw = msg.Meta[metaCallbck]
	}
	if raw == "" && msg.InboundID != 0 && w.opts.LookupInbound != nil {
		in, err := w.opts.LookupInbound(ctx, msg.InboundID)
		switch {
		case errors.Is(err, engine.ErrNotFound):
		case err != nil:
			return nil, fmt.Errorf("webhook: look up inbound %d: %w", msg.InboundID, err)
		case in.Channel == w.opts.Name:
			raw = in.Meta[metaCallbck]
		}
	}
	if raw == "" && msg.To.ReplyTo == "" {
		raw = w.opts.DefaultCallbackURL
	}
	if raw == "" {
		return nil, nil
	}
	if w.secret == nil {
		return nil, errors.New("webhook: cannot sign a callback: no secret configured")
	}
	u, err := checkCallbackURL(raw, w.opts.CallbackHosts, w.opts.AllowLoopbackCallbacks)
	if err != nil {
		return nil, fmt.Errorf("webhook: callback refused: %w", err)
	}
	return u, nil
}

// permanentError is a callback failure that retrying cannot fix.
type permanentError struct{ err error }

func (p *permanentError) Error() string { return p.err.Error() }
func (p *permanentError) Unwrap() error { return p.err }

// postCallback delivers ev, retrying network errors, 408, 429 and 5xx
// with doubling delays (honouring Retry-After up to the cap).
func (w *Server) postCallback(ctx context.Context, u *url.URL, ev CallbackEvent) error {
	body, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("webhook: encode callback: %w", err)
	}
	delay := w.opts.CallbackBackoff
	attempt := 0
	for {
		attempt++
		retryAfter, err := w.postOnce(ctx, u, body, ev.Delivery)
		if err == nil {
			return nil
		}
		var perm *permanentError
		if errors.As(err, &perm) || attempt >= w.opts.CallbackAttempts {
			return fmt.Errorf("webhook: callback to %s failed after %d attempt(s): %w", u.Host, attempt, err)
		}
		wait := min(max(delay, retryAfter), maxCallbackBackoff)
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return fmt.Errorf("webhook: callback to %s abandoned after %d attempt(s): %w (last: %w)", u.Host, attempt, ctx.Err(), err)
		case <-timer.C:
		}
		delay = min(delay*2, maxCallbackBackoff)
	}
}

// postOnce makes one signed attempt; it returns the server's Retry-After.
func (w *Server) postOnce(ctx context.Context, u *url.URL, body []byte, delivery string) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, w.opts.CallbackTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return 0, &permanentError{err}
	}
	ts := w.now().Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "hearth-webhook")
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(HeaderSignature, Sign(w.secret, ts, body))
	req.Header.Set(HeaderDelivery, delivery)
	resp, err := w.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		return 0, nil
	case code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || code >= 500:
		return retryAfter(resp.Header.Get("Retry-After"), w.now()), fmt.Errorf("status %d", code)
	default:
		return 0, &permanentError{fmt.Errorf("status %d", code)}
	}
}

// retryAfter parses a Retry-After header (seconds or an HTTP date).
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
