package channelkit_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hearthbot/hearth/engine/channelkit"
	"github.com/hearthbot/hearth/engine/channelkit/kittest"
)

func TestBackoffDelay(t *testing.T) {
	b := channelkit.Backoff{Min: 100 * time.Millisecond, Max: time.Second, Factor: 2}
	for _, tc := range []struct {
		attempt int
		want    time.Duration
	}{
		{0, 100 * time.Millisecond},
		{1, 200 * time.Millisecond},
		{3, 800 * time.Millisecond},
		{4, time.Second},
		{40, time.Second},
	} {
		if got := b.Delay(tc.attempt); got != tc.want {
			t.Errorf("Delay(%d) = %v, want %v", tc.attempt, got, tc.want)
		}
	}
	j := channelkit.Backoff{Min: time.Second, Max: time.Minute, Factor: 2, Jitter: 0.5}
	for range 100 {
		if d := j.Delay(0); d < time.Second || d > 1500*time.Millisecond {
			t.Fatalf("jittered delay %v outside [1s, 1.5s]", d)
		}
	}
}

// recorder is a flaky platform call that remembers when it was called.
type recorder struct {
	mu    sync.Mutex
	clock channelkit.Clock
	times []time.Time
	errs  []error // returned in order; nil after they run out
}

func (r *recorder) call(context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.times = append(r.times, r.clock.Now())
	if len(r.errs) == 0 {
		return nil
	}
	err := r.errs[0]
	r.errs = r.errs[1:]
	return err
}

func (r *recorder) calls() []time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]time.Time(nil), r.times...)
}

func TestPacerHonoursRetryAfter(t *testing.T) {
	clock := kittest.NewClock(t0)
	p := &channelkit.Pacer{
		Limiter: channelkit.NewLimiter(clock, channelkit.Limits{PerKey: channelkit.Per(1, time.Second)}),
		Policy:  channelkit.RetryPolicy{Attempts: 3, Backoff: channelkit.Backoff{Min: time.Second}},
		Clock:   clock,
	}
	rec := &recorder{clock: clock, errs: []error{&channelkit.RetryError{Status: 429, RetryAfter: 7 * time.Second}}}
	done := make(chan error, 1)
	go func() { done <- p.Do(context.Background(), "chat", rec.call) }()
	if !clock.WaitForTimers(1, waitLimit) {
		t.Fatal("pacer did not wait after the 429")
	}
	if next, _ := clock.NextDeadline(); !next.Equal(t0.Add(7 * time.Second)) {
		t.Fatalf("retry scheduled at %v, want t0+7s", next.Sub(t0))
	}
	// Another message for the same chat queues behind the retry-after.
	if d := p.Limiter.Delay("chat"); d < 7*time.Second {
		t.Fatalf("chat delay during retry-after = %v, want >= 7s", d)
	}
	clock.Advance(7 * time.Second)
	if err := <-done; err != nil {
		t.Fatalf("Do: %v", err)
	}
	calls := rec.calls()
	if len(calls) != 2 || calls[1].Sub(calls[0]) != 7*time.Second {
		t.Fatalf("calls at %v, want two 7s apart", calls)
	}
}

func TestRetryCases(t *testing.T) {
	boom := errors.New("bad request")
	for _, tc := range []struct {
		name      string
		errs      []error
		policy    channelkit.RetryPolicy
		wantCalls int
		wantErr   error
		advance   []time.Duration
	}{
		{name: "not retryable", errs: []error{boom}, policy: channelkit.RetryPolicy{Attempts: 5}, wantCalls: 1, wantErr: boom},
		{
			name:      "5xx backs off",
			errs:      []error{&channelkit.RetryError{Status: 502}, &channelkit.RetryError{Status: 503}},
			policy:    channelkit.RetryPolicy{Attempts: 5, Backoff: channelkit.Backoff{Min: time.Second, Factor: 2}},
			wantCalls: 3, advance: []time.Duration{time.Second, 2 * time.Second},
		},
		{
			name:      "attempts exhausted",
			errs:      []error{&channelkit.RetryError{Status: 500, Err: boom}, &channelkit.RetryError{Status: 500, Err: boom}},
			policy:    channelkit.RetryPolicy{Attempts: 2, Backoff: channelkit.Backoff{Min: time.Second}},
			wantCalls: 2, wantErr: boom, advance: []time.Duration{time.Second},
		},
		{
			name:      "retry-after beyond the limit",
			errs:      []error{&channelkit.RetryError{Status: 429, RetryAfter: time.Hour}},
			policy:    channelkit.RetryPolicy{Attempts: 5, MaxRetryAfter: time.Minute},
			wantCalls: 1, wantErr: boom, // checked by message below
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := kittest.NewClock(t0)
			rec := &recorder{clock: clock, errs: tc.errs}
			done := make(chan error, 1)
			go func() { done <- channelkit.Retry(context.Background(), clock, tc.policy, rec.call) }()
			for _, d := range tc.advance {
				if !clock.WaitForTimers(1, waitLimit) {
					t.Fatal("no backoff timer")
				}
				if next, _ := clock.NextDeadline(); next.Sub(clock.Now()) != d {
					t.Fatalf("backoff %v, want %v", next.Sub(clock.Now()), d)
				}
				clock.Advance(d)
			}
			err := <-done
			if got := len(rec.calls()); got != tc.wantCalls {
				t.Fatalf("calls = %d, want %d", got, tc.wantCalls)
			}
			switch {
			case tc.name == "retry-after beyond the limit":
				if err == nil || !strings.Contains(err.Error(), "more than the 1m0s allowed") {
					t.Fatalf("err = %v", err)
				}
			case tc.wantErr == nil && err != nil:
				t.Fatalf("err = %v", err)
			case tc.wantErr != nil && !errors.Is(err, tc.wantErr):
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
		})
	}
}

func TestRetryStopsOnCancel(t *testing.T) {
	clock := kittest.NewClock(t0)
	ctx, cancel := context.WithCancel(context.Background())
	rec := &recorder{clock: clock, errs: []error{&channelkit.RetryError{Status: 429, RetryAfter: time.Minute}}}
	done := make(chan error, 1)
	go func() { done <- channelkit.Retry(ctx, clock, channelkit.DefaultRetry(), rec.call) }()
	if !clock.WaitForTimers(1, waitLimit) {
		t.Fatal("no retry wait")
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want Canceled", err)
	}
}
