package schedule_test

import (
	"context"
	"fmt"
	"path/filepath"
	goruntime "runtime"
	"sort"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/engine/runtime"
	"github.com/hearthbot/hearth/engine/schedule"
	"github.com/hearthbot/hearth/memory/sqlite"
	"github.com/jonboulle/clockwork"
)

var _ clockwork.Clock = (*heapClock)(nil)

// Benchmarks of the scheduler's own overhead with 10,000 users'
// heartbeats and 10,000 routines registered. The store is in memory
// (memStore) so that the figures are the scheduler's; BenchmarkStartSQLite
// adds the embedded store. Heartbeats find an empty HEARTBEAT.md, the
// common case at scale, so a firing costs no model call.
//
//	go test -run '^$' -bench . -benchtime 1x -count 5 ./engine/schedule/

const (
	benchUsers    = 10000
	benchRoutines = 10000
)

// memStore keeps users and routines in memory; the embedded JobStore
// interface is nil, so a method the scheduler was not expected to call
// panics.
type memStore struct {
	engine.JobStore
	users    []engine.User
	byID     map[string]engine.User
	routines []engine.Routine
	rByID    map[string]engine.Routine
}

func newMemStore(users, routines int, created time.Time) *memStore {
	s := &memStore{byID: map[string]engine.User{}, rByID: map[string]engine.Routine{}}
	for i := range users {
		u := engine.User{ID: fmt.Sprintf("user-%05d", i), Name: "u", Role: engine.RoleMember, Timezone: "Europe/Paris"}
		s.users = append(s.users, u)
		s.byID[u.ID] = u
	}
	for i := range routines {
		r := engine.Routine{ID: fmt.Sprintf("rt_%05d", i), UserID: s.users[i%users].ID, Name: "r", Prompt: "p",
			// Spread over the day: minute i%60 of hour (i/60)%24.
			Schedule: engine.Schedule{Kind: engine.ScheduleCron, Cron: fmt.Sprintf("%d %d * * *", i%60, (i/60)%24), Timezone: "Europe/Paris"},
			Session:  engine.SessionOwn, Deliver: engine.DeliverLast, Missed: engine.MissedSkip, CreatedAt: created,
			RoutineState: engine.RoutineState{Status: engine.RoutineActive}}
		s.routines = append(s.routines, r)
		s.rByID[r.ID] = r
	}
	return s
}

func (s *memStore) ListUsers(context.Context) ([]engine.User, error) { return s.users, nil }
func (s *memStore) GetUser(_ context.Context, id string) (engine.User, error) {
	u, ok := s.byID[id]
	if !ok {
		return u, engine.ErrNotFound
	}
	return u, nil
}
func (s *memStore) ListHeartbeats(context.Context) ([]engine.HeartbeatState, error) { return nil, nil }
func (s *memStore) GetHeartbeat(context.Context, string) (engine.HeartbeatState, error) {
	return engine.HeartbeatState{}, engine.ErrNotFound
}
func (s *memStore) ListRoutines(context.Context, string) ([]engine.Routine, error) {
	return s.routines, nil
}
func (s *memStore) ActiveSession(context.Context, string, string) (engine.Session, error) {
	return engine.Session{}, engine.ErrNotFound
}
func (s *memStore) CreateSession(context.Context, engine.Session) error { return nil }

func benchOptions(st schedule.Store, clock clockwork.Clock, onEvent func(schedule.Event)) schedule.Options {
	return schedule.Options{Store: st, Clock: clock, SyncInterval: -1, RunRetention: -1, OnEvent: onEvent,
		Docs:      schedule.DocReaderFunc(func(context.Context, string, string) (string, error) { return "# Heartbeat\n", nil }),
		Heartbeat: schedule.HeartbeatOptions{Enabled: true}}
}

// noRunner is a runner that must not be called: every firing is skipped.
type noRunner struct{}

func (noRunner) RunJob(context.Context, runtime.Job) (engine.Receipt, error) {
	panic("no run expected")
}
func (noRunner) Notify(context.Context, engine.Address, string) error { return nil }

func heapInUse() uint64 {
	goruntime.GC()
	goruntime.GC()
	var ms goruntime.MemStats
	goruntime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// BenchmarkStart arms 20,000 timers (10,000 heartbeats, 10,000 routines)
// from the store: start-up cost and the memory every armed job keeps.
func BenchmarkStart(b *testing.B) {
	start := time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC)
	st := newMemStore(benchUsers, benchRoutines, start.Add(-time.Hour))
	ctx := context.Background()
	var perJob, goroutines float64
	for b.Loop() {
		b.StopTimer()
		before := heapInUse()
		g0 := goruntime.NumGoroutine()
		clock := newHeapClock(start)
		s, err := schedule.New(benchOptions(st, clock, nil))
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if err := s.Start(ctx, noRunner{}); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if n := s.Armed(); n != benchUsers+benchRoutines {
			b.Fatalf("armed %d", n)
		}
		perJob = float64(heapInUse()-before) / float64(benchUsers+benchRoutines)
		goroutines = float64(goruntime.NumGoroutine() - g0)
		if err := s.Stop(ctx); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(perJob, "heap-B/job")
	b.ReportMetric(goroutines, "goroutines")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(benchUsers+benchRoutines), "ns/job-armed")
}

// BenchmarkFireHeartbeats advances the clock by one interval (30 minutes)
// so that every one of 10,000 heartbeats fires once, and measures the
// scheduler's cost per firing (timer, concurrency limit, slot, the checks
// before a model call).
func BenchmarkFireHeartbeats(b *testing.B) {
	start := time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC)
	st := newMemStore(benchUsers, 0, start)
	ctx := context.Background()
	var fired atomic.Int64
	done := make(chan struct{}, 1)
	want := atomic.Int64{}
	clock := newHeapClock(start)
	s, err := schedule.New(benchOptions(st, clock, func(e schedule.Event) {
		if fired.Add(1) == want.Load() {
			done <- struct{}{}
		}
	}))
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Start(ctx, noRunner{}); err != nil {
		b.Fatal(err)
	}
	defer s.Stop(ctx)
	for b.Loop() {
		b.StopTimer()
		clock.waitFor(benchUsers)
		fired.Store(0)
		want.Store(benchUsers)
		b.StartTimer()
		clock.Advance(30 * time.Minute)
		<-done
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/benchUsers, "ns/firing")
}

// BenchmarkJitterSpread reports how 10,000 users' heartbeats spread over
// a 30-minute interval: the fullest and emptiest minute and the fullest
// second.
func BenchmarkJitterSpread(b *testing.B) {
	every := 30 * time.Minute
	var perMinute [30]int
	perSecond := map[time.Duration]int{}
	for b.Loop() {
		perMinute = [30]int{}
		clear(perSecond)
		for i := range benchUsers {
			j := schedule.Jitter(fmt.Sprintf("user-%05d", i), every)
			perMinute[j/time.Minute]++
			perSecond[j/time.Second]++
		}
	}
	counts := perMinute[:]
	sort.Ints(counts)
	maxSec := 0
	for _, n := range perSecond {
		maxSec = max(maxSec, n)
	}
	b.ReportMetric(float64(counts[0]), "min-fires/min")
	b.ReportMetric(float64(counts[len(counts)-1]), "max-fires/min")
	b.ReportMetric(float64(benchUsers)/30, "mean-fires/min")
	b.ReportMetric(float64(maxSec), "max-fires/s")
}

// BenchmarkStartSQLite is BenchmarkStart on the embedded store: the users
// and routines are read from the file.
func BenchmarkStartSQLite(b *testing.B) {
	ctx := context.Background()
	start := time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC)
	st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "hearth.db"), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	mem := newMemStore(benchUsers, benchRoutines, start.Add(-time.Hour))
	for _, u := range mem.users {
		if err := st.CreateUser(ctx, u); err != nil {
			b.Fatal(err)
		}
	}
	for _, r := range mem.routines {
		if err := st.CreateRoutine(ctx, r); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for b.Loop() {
		s, err := schedule.New(benchOptions(st, newHeapClock(start), nil))
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Start(ctx, noRunner{}); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if n := s.Armed(); n != benchUsers+benchRoutines {
			b.Fatalf("armed %d", n)
		}
		_ = s.Stop(ctx)
		b.StartTimer()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(benchUsers+benchRoutines), "ns/job-armed")
}

// BenchmarkSyncSteady is the periodic reconciliation (every
// schedule.sync_interval) with 20,000 jobs armed and nothing changed.
func BenchmarkSyncSteady(b *testing.B) {
	start := time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC)
	st := newMemStore(benchUsers, benchRoutines, start.Add(-time.Hour))
	ctx := context.Background()
	s, err := schedule.New(benchOptions(st, newHeapClock(start), nil))
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Start(ctx, noRunner{}); err != nil {
		b.Fatal(err)
	}
	defer s.Stop(ctx)
	for b.Loop() {
		if err := s.Sync(ctx); err != nil {
			b.Fatal(err)
		}
	}
	if n := s.Armed(); n != benchUsers+benchRoutines {
		b.Fatalf("armed %d", n)
	}
}
