package channelkit

import (
	"context"
	"sync"
	"time"
)

// EditOps are a platform's two operations for streaming an answer by
// editing: post a new message, and replace the text of one posted before.
type EditOps struct {
	// Post sends chunk as a new message and returns its platform id.
	Post func(ctx context.Context, chunk string) (string, error)
	// Edit replaces the text of message id with chunk.
	Edit func(ctx context.Context, id, chunk string) error
}

// Streams tracks answers being streamed by edits: which messages each
// occupies (more than one once it outgrows the platform's limit) and what
// each shows. Non-final updates closer together than the interval are
// skipped, since the next one carries all the text; the final one always
// goes out. Unfinished streams are forgotten after an hour.
type Streams struct {
	clock    Clock
	interval time.Duration

	mu     sync.Mutex
	m      map[string]*editStream
	swept  time.Time
	maxAge time.Duration
}

type editStream struct {
	mu       sync.Mutex
	ids      []string
	chunks   []string
	lastEdit time.Time
	touched  time.Time
}

// NewStreams returns a tracker editing at most once per interval.
func NewStreams(clock Clock, interval time.Duration) *Streams {
	return &Streams{clock: orSystem(clock), interval: interval, m: make(map[string]*editStream), maxAge: time.Hour}
}

// Begin records that the answer known as key occupies the messages ids,
// showing chunks, as posted just now.
func (s *Streams) Begin(key string, ids, chunks []string) {
	now := s.clock.Now()
	st := &editStream{ids: append([]string(nil), ids...), chunks: append([]string(nil), chunks...), lastEdit: now, touched: now}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweepLocked(now)
	s.m[key] = st
}

// Len returns how many streams are open.
func (s *Streams) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}

// Update brings the answer key up to date with chunks: changed chunks are
// edited, new ones posted. first is the platform id of the answer's first
// message, used when key is unknown (an answer Send posted in one piece,
// whose text is then unknown, so it is always edited). A final update
// closes the stream.
func (s *Streams) Update(ctx context.Context, key, first string, chunks []string, final bool, ops EditOps) error {
	now := s.clock.Now()
	s.mu.Lock()
	st, ok := s.m[key]
	if !ok {
		st = &editStream{ids: []string{first}, chunks: []string{"\x00unknown"}, touched: now}
		s.m[key] = st
	}
	s.mu.Unlock()

	st.mu.Lock()
	defer st.mu.Unlock()
	st.touched = now
	if !final && now.Sub(st.lastEdit) < s.interval {
		return nil
	}
	for i, chunk := range chunks {
		if i < len(st.ids) {
			if st.chunks[i] == chunk {
				continue
			}
			if err := ops.Edit(ctx, st.ids[i], chunk); err != nil {
				return err
			}
			st.chunks[i] = chunk
			continue
		}
		id, err := ops.Post(ctx, chunk)
		if err != nil {
			return err
		}
		st.ids = append(st.ids, id)
		st.chunks = append(st.chunks, chunk)
	}
	st.lastEdit = s.clock.Now()
	if final {
		s.mu.Lock()
		delete(s.m, key)
		s.mu.Unlock()
	}
	return nil
}

func (s *Streams) sweepLocked(now time.Time) {
	if now.Sub(s.swept) < time.Minute {
		return
	}
	s.swept = now
	for k, st := range s.m {
		if st.mu.TryLock() {
			stale := now.Sub(st.touched) > s.maxAge
			st.mu.Unlock()
			if stale {
				delete(s.m, k)
			}
		}
	}
}
