package agent

import "context"

// Semaphore is a Limiter allowing n concurrent holders.
type Semaphore chan struct{}

// NewLimiter returns a Limiter for n concurrent LLM calls (n < 1 means 1).
func NewLimiter(n int) Semaphore {
	if n < 1 {
		n = 1
	}
	return make(Semaphore, n)
}

// Acquire waits for a slot or for ctx to end.
func (s Semaphore) Acquire(ctx context.Context) (func(), error) {
	select {
	case s <- struct{}{}:
		return func() { <-s }, nil
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
}
