package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hearthbot/hearth/adapters/webhook"
	"github.com/hearthbot/hearth/internal/fakellm"
)

const procToken = "process-test-token-0123"

func freePort(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

// server is a `hearth serve` process.
type server struct {
	cmd    *exec.Cmd
	base   string
	stderr *bytes.Buffer
}

func startServer(t testing.TB, env []string, addr string) *server {
	t.Helper()
	cmd := exec.Command(binary, "serve")
	cmd.Env = env
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &server{cmd: cmd, base: "http://" + addr, stderr: &errb}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	waitReady(t, s.base)
	return s
}

// waitReady polls /readyz until it answers 200 or a deadline passes.
func waitReady(t testing.TB, base string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("server at %s never became ready", base)
		}
		<-tick.C
	}
}

func postJSON(t testing.TB, base string, req webhook.MessageRequest) (int, webhook.MessageResponse) {
	t.Helper()
	body, _ := json.Marshal(req)
	hr, _ := http.NewRequest(http.MethodPost, base+"/v1/messages", bytes.NewReader(body))
	hr.Header.Set("Authorization", "Bearer "+procToken)
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out webhook.MessageResponse
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func serveEnv(t testing.TB, llmURL, addr string) []string {
	env := []string{
		"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH"),
		"HEARTH_HOME=" + t.TempDir(),
		"HEARTH_LLM__PROVIDER=openai", "HEARTH_LLM__BASE_URL=" + llmURL, "HEARTH_LLM__MODEL=fake", "HEARTH_LLM__MAX_RETRIES=0",
		"HEARTH_CHANNELS__WEBHOOK__ENABLED=true",
		"HEARTH_CHANNELS__WEBHOOK__LISTEN=" + addr,
		"HEARTH_CHANNELS__WEBHOOK__TOKEN=" + procToken,
		"HEARTH_CHANNELS__WEBHOOK__HMAC_SECRET=process-test-secret-0123",
		"HEARTH_CHANNELS__WEBHOOK__ALLOWLIST=alice",
		"HEARTH_CHANNELS__WEBHOOK__ALLOW_LOOPBACK_CALLBACKS=true",
	}
	return env
}

// TestKillNineBetweenAcceptanceAndReplyLosesNothing accepts a message,
// kills the process with SIGKILL while the model is thinking, restarts,
// and checks that the message is answered exactly once.
func TestKillNineBetweenAcceptanceAndReplyLosesNothing(t *testing.T) {
	llm := fakellm.NewOpenAI(t)
	arrived := make(chan struct{})
	var calls atomic.Int32
	llm.SetResponder(func(req fakellm.Request) fakellm.Reply {
		if calls.Add(1) == 1 {
			close(arrived)
			return fakellm.Reply{Hang: true}
		}
		return fakellm.EchoLast()(req)
	})
	cbs, cbURL := newCallbacks(t)
	addr := freePort(t)
	env := serveEnv(t, llm.BaseURL(), addr)

	first := startServer(t, env, addr)
	code, _ := postJSON(t, first.base, webhook.MessageRequest{User: "alice", ID: "k1", Text: "remember me", CallbackURL: cbURL})
	if code != http.StatusAccepted {
		t.Fatalf("accept: %d", code)
	}
	select {
	case <-arrived:
	case <-time.After(20 * time.Second):
		t.Fatal("the model never received the message")
	}
	if err := first.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = first.cmd.Wait()

	second := startServer(t, env, addr)
	select {
	case <-cbs.got:
	case <-time.After(30 * time.Second):
		t.Fatalf("no answer after restart; server log:\n%s", second.stderr)
	}
	// A later message is answered too, and k1 has still one answer.
	code, resp := postJSON(t, second.base, webhook.MessageRequest{User: "alice", ID: "k2", Text: "and now"})
	if code != http.StatusOK || resp.Reply != "echo: and now" {
		t.Fatalf("second message: %d %+v", code, resp)
	}
	if got := cbs.texts("k1"); len(got) != 1 || got[0] != "echo: remember me" {
		t.Fatalf("answers to k1: %q", got)
	}
	if n := calls.Load(); n != 3 {
		t.Fatalf("model calls %d, want 3 (hung, recovered, second)", n)
	}
	// Graceful stop on SIGTERM exits 0.
	if err := second.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := second.cmd.Wait(); err != nil {
		t.Fatalf("SIGTERM exit: %v\n%s", err, second.stderr)
	}
}

// BenchmarkStartToReady measures process start until /readyz answers 200
// (embedded store on a fresh home, webhook on loopback), and reports the
// resident memory of the idle process once it has given back what only
// start-up needed, right after it has answered 20 messages, and once it
// has been idle again (agent.idle_release, 1s here).
//
// HEARTH_BENCH_BASELINE=/path/to/hearth adds a "baseline" sub-benchmark
// of another build, for side-by-side comparisons on a noisy machine
// (with -count N the two alternate). A baseline that does not release
// memory is measured after its RSS settles.
func BenchmarkStartToReady(b *testing.B) {
	llm := fakellm.NewOpenAI(b)
	llm.SetResponder(fakellm.EchoLast())
	b.Run("head", func(b *testing.B) { benchStart(b, llm, binary, true) })
	if base := os.Getenv("HEARTH_BENCH_BASELINE"); base != "" {
		b.Run("baseline", func(b *testing.B) { benchStart(b, llm, base, false) })
	}
}

func benchStart(b *testing.B, llm *fakellm.OpenAI, bin string, releases bool) {
	var rss, rssTraffic, rssIdleAgain, ready []float64
	// waitFor waits for a log line of a build that releases memory.
	waitFor := func(w *watch, what string, logw *lineWatch) {
		if !releases {
			return
		}
		select {
		case <-w.seen:
		case <-time.After(20 * time.Second):
			b.Fatalf("the server never released memory %s; log:\n%s", what, logw)
		}
	}
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		addr := freePort(b)
		env := append(serveEnv(b, llm.BaseURL(), addr), "HEARTH_LOG__LEVEL=debug", "HEARTH_AGENT__IDLE_RELEASE=1s")
		logw := &lineWatch{}
		released := logw.also("start-up memory released")
		idleReleased := logw.also("idle memory released")
		b.StartTimer()
		start := time.Now()
		cmd := exec.Command(bin, "serve")
		cmd.Env = env
		cmd.Stderr = logw
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		waitReady(b, "http://"+addr)
		ready = append(ready, float64(time.Since(start).Microseconds())/1000)
		b.StopTimer()
		waitFor(released, "after start", logw)
		idleWait(cmd.Process.Pid)
		if kb, err := vmRSS(cmd.Process.Pid); err == nil {
			rss = append(rss, float64(kb)/1024)
		}
		for i := range 20 {
			text := fmt.Sprintf("message %d", i)
			code, resp := postJSON(b, "http://"+addr, webhook.MessageRequest{User: "alice", ID: fmt.Sprintf("m%d", i), Text: text})
			if code != http.StatusOK || resp.Reply != "echo: "+text {
				b.Fatalf("message %d: %d %+v", i, code, resp)
			}
		}
		idleWait(cmd.Process.Pid)
		if kb, err := vmRSS(cmd.Process.Pid); err == nil {
			rssTraffic = append(rssTraffic, float64(kb)/1024)
		}
		waitFor(idleReleased, "when idle", logw)
		idleWait(cmd.Process.Pid)
		if kb, err := vmRSS(cmd.Process.Pid); err == nil {
			rssIdleAgain = append(rssIdleAgain, float64(kb)/1024)
		}
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
		b.StartTimer()
	}
	b.ReportMetric(median(ready), "ms-to-ready")
	if len(rss) > 0 {
		b.ReportMetric(median(rss), "idle-RSS-MiB")
		b.ReportMetric(median(rssTraffic), "RSS-after-20-msgs-MiB")
		b.ReportMetric(median(rssIdleAgain), "idle-RSS-after-20-msgs-MiB")
	}
}

// lineWatch is a process's log output; each of its watches closes seen
// once a line containing its text has been written.
type lineWatch struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	watches []*watch
}

// watch waits for one text in a lineWatch.
type watch struct {
	want string
	seen chan struct{}
	done bool
}

// also adds a watch for want and returns it.
func (w *lineWatch) also(want string) *watch {
	w.mu.Lock()
	defer w.mu.Unlock()
	x := &watch{want: want, seen: make(chan struct{})}
	w.watches = append(w.watches, x)
	return x
}

// Write implements io.Writer.
func (w *lineWatch) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	for _, x := range w.watches {
		if !x.done && strings.Contains(w.buf.String(), x.want) {
			x.done = true
			close(x.seen)
		}
	}
	return len(p), nil
}

// String returns what was written.
func (w *lineWatch) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// idleWait waits until the process's RSS stops changing (at most 2 s).
func idleWait(pid int) {
	last := -1
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(2 * time.Second)
	for {
		select {
		case <-deadline:
			return
		case <-tick.C:
		}
		kb, err := vmRSS(pid)
		if err != nil || kb == last {
			return
		}
		last = kb
	}
}

func vmRSS(pid int) (int, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			return strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
		}
	}
	return 0, fmt.Errorf("no VmRSS")
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
	return s[len(s)/2]
}
