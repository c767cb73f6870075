package channelkit

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// RetryError is what an adapter returns for a platform failure that may be
// retried: HTTP 429 (with the platform's retry-after) or a 5xx.
type RetryError struct {
	// Status is the HTTP status (429, 502, ...) or 0 when unknown.
	Status int
	// RetryAfter is how long the platform asked us to wait (0: not said).
	RetryAfter time.Duration
	// Err is the underlying error.
	Err error
}

// Error describes the failure.
func (e *RetryError) Error() string {
	msg := "retryable platform error"
	if e.Status != 0 {
		msg = fmt.Sprintf("platform status %d", e.Status)
	}
	if e.RetryAfter > 0 {
		msg += fmt.Sprintf(" (retry after %s)", e.RetryAfter)
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the underlying error.
func (e *RetryError) Unwrap() error { return e.Err }

// Backoff is an exponential backoff: Min, then Min*Factor, ... up to Max,
// with up to Jitter (a fraction, 0..1) of each step added at random.
type Backoff struct {
	Min    time.Duration
	Max    time.Duration
	Factor float64
	Jitter float64
}

// DefaultBackoff is 500ms doubling to 1 minute with 20% jitter.
func DefaultBackoff() Backoff {
	return Backoff{Min: 500 * time.Millisecond, Max: time.Minute, Factor: 2, Jitter: 0.2}
}

// Delay returns the wait before retry number attempt (0-based).
func (b Backoff) Delay(attempt int) time.Duration {
	if b.Min <= 0 {
		return 0
	}
	f := b.Factor
	if f < 1 {
		f = 2
	}
	d := float64(b.Min)
	for i := 0; i < attempt && (b.Max <= 0 || d < float64(b.Max)); i++ {
		d *= f
	}
	if b.Max > 0 && d > float64(b.Max) {
		d = float64(b.Max)
	}
	if b.Jitter > 0 {
		d += d * b.Jitter * rand.Float64()
	}
	return time.Duration(d)
}

// RetryPolicy says how often and how long to retry a RetryError.
type RetryPolicy struct {
	// Attempts is the total number of tries (values below 1 mean 1).
	Attempts int
	// Backoff is used when the platform gave no retry-after.
	Backoff Backoff
	// MaxRetryAfter is the longest retry-after honoured; a platform asking
	// for more makes the call fail at once (0: no limit).
	MaxRetryAfter time.Duration
}

// DefaultRetry tries 5 times and honours a retry-after of up to 5 minutes.
func DefaultRetry() RetryPolicy {
	return RetryPolicy{Attempts: 5, Backoff: DefaultBackoff(), MaxRetryAfter: 5 * time.Minute}
}

// Pacer sends through a Limiter and retries RetryErrors: each attempt waits
// for the key's turn, and a retry-after blocks the key in the limiter so
// that everything queued for that chat waits too.
type Pacer struct {
	Limiter *Limiter
	Policy  RetryPolicy
	Clock   Clock
	// OnRetry, if set, is told about each retry before the wait.
	OnRetry func(key string, attempt int, wait time.Duration, err error)
}

// Do runs fn for key, paced and retried. It returns fn's last error.
func (p *Pacer) Do(ctx context.Context, key string, fn func(context.Context) error) error {
	clock := orSystem(p.Clock)
	attempts := max(1, p.Policy.Attempts)
	for attempt := 0; ; attempt++ {
		if p.Limiter != nil {
			if err := p.Limiter.Wait(ctx, key); err != nil {
				return err
			}
		}
		err := fn(ctx)
		if err == nil {
			return nil
		}
		var re *RetryError
		if !errors.As(err, &re) || attempt+1 >= attempts || ctx.Err() != nil {
			return err
		}
		wait := re.RetryAfter
		if wait <= 0 {
			wait = p.Policy.Backoff.Delay(attempt)
		} else if p.Policy.MaxRetryAfter > 0 && wait > p.Policy.MaxRetryAfter {
			return fmt.Errorf("platform asked to wait %s, more than the %s allowed: %w", wait, p.Policy.MaxRetryAfter, err)
		}
		if p.OnRetry != nil {
			p.OnRetry(key, attempt+1, wait, err)
		}
		if p.Limiter != nil {
			p.Limiter.Block(key, clock.Now().Add(wait))
			continue
		}
		if !sleep(clock, wait, ctx.Done()) {
			return fmt.Errorf("retry wait: %w (last error: %w)", context.Cause(ctx), err)
		}
	}
}

// Retry runs fn, retrying RetryErrors by policy, without rate limiting.
func Retry(ctx context.Context, clock Clock, policy RetryPolicy, fn func(context.Context) error) error {
	p := Pacer{Policy: policy, Clock: clock}
	return p.Do(ctx, "", fn)
}
