package sandbox_test

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/sandbox"
	"github.com/hearthbot/hearth/sandbox/caps"
	"github.com/hearthbot/hearth/sandbox/sandboxtest"
)

// Benchmarks of the sandbox (figures in docs/sandbox.md):
//
//	go test -run '^$' -bench . -benchtime 2000x ./sandbox/

func loadBench(b *testing.B, guest string, opts sandbox.Options, capsJSON string) *sandbox.Module {
	b.Helper()
	mods := sandboxtest.BuildWasm(b, guestDirs...)
	if opts.CacheDir == "" {
		opts.CacheDir = sandboxtest.CompileCacheDir()
	}
	rt, err := sandbox.New(context.Background(), opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = rt.Close(context.Background()) })
	wasm, err := os.ReadFile(mods[guest])
	if err != nil {
		b.Fatal(err)
	}
	c, err := caps.Parse([]byte(capsJSON))
	if err != nil {
		b.Fatal(err)
	}
	m, err := rt.Load(context.Background(), guest, wasm, c)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = m.Close(context.Background()) })
	return m
}

// reportPercentiles adds p50 and p99 of the per-call durations.
func reportPercentiles(b *testing.B, d []time.Duration) {
	if len(d) == 0 {
		return
	}
	slices.Sort(d)
	b.ReportMetric(float64(d[len(d)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(d[len(d)*99/100].Microseconds()), "p99-µs")
}

func benchCalls(b *testing.B, opts sandbox.Options) {
	m := loadBench(b, "trivial", opts, "{}")
	inv := engine.ToolInvocation{UserID: "u1", Args: json.RawMessage(`{"text":"hi"}`)}
	ctx := context.Background()
	var durations []time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for b.Loop() {
		start := time.Now()
		res, err := m.Execute(ctx, inv)
		durations = append(durations, time.Since(start))
		if err != nil || res.IsError || res.Content != "hi" {
			b.Fatal(err, res)
		}
	}
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(len(durations)), "cpu-µs/op")
	reportPercentiles(b, durations)
}

// BenchmarkCallTrivial is the per-call overhead of a trivial tool: a
// fresh instance from the snapshot, warm compilation cache.
func BenchmarkCallTrivial(b *testing.B) { benchCalls(b, sandbox.Options{}) }

// BenchmarkCallTrivialNoSnapshot runs the module's initialiser on every
// call instead (for comparison).
func BenchmarkCallTrivialNoSnapshot(b *testing.B) { benchCalls(b, sandbox.Options{NoSnapshot: true}) }

func benchLoad(b *testing.B, cold bool) {
	mods := sandboxtest.BuildWasm(b, guestDirs...)
	wasm, err := os.ReadFile(mods["trivial"])
	if err != nil {
		b.Fatal(err)
	}
	warmDir := filepath.Join(b.TempDir(), "warm")
	if !cold { // fill the cache once
		rt, _ := sandbox.New(context.Background(), sandbox.Options{CacheDir: warmDir})
		m, err := rt.Load(context.Background(), "trivial", wasm, caps.Capabilities{})
		if err != nil {
			b.Fatal(err)
		}
		_ = m.Close(context.Background())
		_ = rt.Close(context.Background())
	}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		dir := warmDir
		if cold {
			dir = filepath.Join(b.TempDir(), strconv.Itoa(i))
		}
		// A new runtime each time, as after a restart.
		rt, err := sandbox.New(context.Background(), sandbox.Options{CacheDir: dir})
		if err != nil {
			b.Fatal(err)
		}
		m, err := rt.Load(context.Background(), "trivial", wasm, caps.Capabilities{})
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		_ = m.Close(context.Background())
		_ = rt.Close(context.Background())
		b.StartTimer()
	}
}

// BenchmarkLoadColdCache is the first load of a module: rewrite,
// compile to machine code, initialise, snapshot.
func BenchmarkLoadColdCache(b *testing.B) { benchLoad(b, true) }

// BenchmarkLoadWarmCache is a load after a restart with the on-disk
// compilation cache filled.
func BenchmarkLoadWarmCache(b *testing.B) { benchLoad(b, false) }

// BenchmarkConcurrent50 runs batches of 50 concurrent calls; ns/op is
// per batch, calls/s the throughput, p50 the latency of one call.
func BenchmarkConcurrent50(b *testing.B) {
	m := loadBench(b, "trivial", sandbox.Options{MaxConcurrent: 50}, "{}")
	inv := engine.ToolInvocation{UserID: "u1", Args: json.RawMessage(`{"text":"hi"}`)}
	var mu sync.Mutex
	var durations []time.Duration
	calls := 0
	start := time.Now()
	b.ResetTimer()
	for b.Loop() {
		var wg sync.WaitGroup
		for i := 0; i < 50; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				t0 := time.Now()
				res, err := m.Execute(context.Background(), inv)
				d := time.Since(t0)
				if err != nil || res.IsError {
					b.Error(err, res)
				}
				mu.Lock()
				durations = append(durations, d)
				calls++
				mu.Unlock()
			}()
		}
		wg.Wait()
	}
	b.ReportMetric(float64(calls)/time.Since(start).Seconds(), "calls/s")
	reportPercentiles(b, durations)
}

// rss reads the process's resident set size in bytes.
func rss(b *testing.B) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		b.Skip("RSS is read from /proc (Linux)")
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// BenchmarkMemoryPerExecution holds 50 executions open at once (each
// sleeping in the guest) and reports the growth of the process's RSS and
// Go heap per execution.
func BenchmarkMemoryPerExecution(b *testing.B) {
	const n = 50
	m := loadBench(b, "hostile", sandbox.Options{MaxConcurrent: n}, `{"limits":{"timeout_ms":5000}}`)
	inv := engine.ToolInvocation{UserID: "u1", Args: json.RawMessage(`{"attack":"sleep","millis":400}`)}
	var rssPer, heapPer float64
	for b.Loop() {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		baseRSS, baseHeap := rss(b), ms.HeapInuse
		var wg sync.WaitGroup
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if res, err := m.Execute(context.Background(), inv); err != nil || res.IsError {
					b.Error(err, res)
				}
			}()
		}
		// Sample while the calls sleep.
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		tick := time.NewTicker(10 * time.Millisecond)
		var peakRSS int64
		var peakHeap uint64
	sampling:
		for {
			select {
			case <-done:
				break sampling
			case <-tick.C:
				peakRSS = max(peakRSS, rss(b))
				runtime.ReadMemStats(&ms)
				peakHeap = max(peakHeap, ms.HeapInuse)
			}
		}
		tick.Stop()
		rssPer = float64(peakRSS-baseRSS) / n
		heapPer = float64(int64(peakHeap)-int64(baseHeap)) / n
	}
	b.ReportMetric(rssPer/1024, "RSS-KiB/exec")
	b.ReportMetric(heapPer/1024, "heap-KiB/exec")
}
