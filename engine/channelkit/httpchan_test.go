package channelkit_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/engine/channelkit"
)

// nopSink accepts everything.
type nopSink struct{}

func (nopSink) Accept(context.Context, engine.Inbound) (engine.Receipt, error) {
	return engine.Receipt{Status: engine.Queued}, nil
}

// runHTTP starts s.Run in the background; the returned function cancels it
// and returns Run's result.
func runHTTP(t *testing.T, s *channelkit.HTTPServer, attrs ...any) func() error {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, nopSink{}, attrs...) }()
	var stopped bool
	var runErr error
	stop := func() error {
		if stopped {
			return runErr
		}
		stopped = true
		cancel()
		select {
		case runErr = <-done:
		case <-time.After(waitLimit):
			t.Error("Run did not stop")
		}
		return runErr
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}

// takenAddr returns a loopback address another listener holds until the
// test ends.
func takenAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln.Addr().String()
}

// pollState polls until the server's health state is want.
func pollState(t *testing.T, s *channelkit.HTTPServer, want string) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for s.Health().Snapshot().State != want {
		if time.Now().After(deadline) {
			t.Fatalf("state %q, want %q", s.Health().Snapshot().State, want)
		}
		<-tick.C
	}
}

func TestHTTPServerListen(t *testing.T) {
	taken := takenAddr(t)
	tests := []struct {
		name    string
		listen  string
		wantErr string
	}{
		{"port 0", "127.0.0.1:0", ""},
		{"address in use", taken, "chan: listen on " + taken + ": "},
		{"not an address", "no-port", "chan: listen on no-port: "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := channelkit.NewHTTPServer(channelkit.HTTPOptions{Name: "chan", Listen: tc.listen})
			if a := s.Addr(); a != "" {
				t.Fatalf("Addr before Listen = %q", a)
			}
			err := s.Listen()
			if tc.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tc.wantErr) {
					t.Fatalf("Listen = %v, want %q...", err, tc.wantErr)
				}
				if s.Addr() != "" {
					t.Fatalf("Addr after a failed Listen = %q", s.Addr())
				}
				return
			}
			if err != nil {
				t.Fatalf("Listen: %v", err)
			}
			addr := s.Addr()
			if _, port, _ := net.SplitHostPort(addr); port == "" || port == "0" {
				t.Fatalf("Addr = %q, want the bound port", addr)
			}
			if err := s.Listen(); err != nil || s.Addr() != addr {
				t.Fatalf("second Listen: %v, Addr %q (was %q)", err, s.Addr(), addr)
			}
			// Run serves the address Listen bound.
			stop := runHTTP(t, s)
			pollState(t, s, channelkit.StateConnected)
			if s.Addr() != addr {
				t.Fatalf("Addr while running = %q, want %q", s.Addr(), addr)
			}
			if err := stop(); err != nil {
				t.Fatalf("Run: %v", err)
			}
		})
	}
}

func TestHTTPServerRunRefuses(t *testing.T) {
	taken := takenAddr(t)
	tests := []struct {
		name      string
		listen    string
		sink      engine.Sink
		running   bool // another Run is going on
		wantErr   string
		wantState string
	}{
		{"no sink", "127.0.0.1:0", nil, false, "chan: Run needs a sink", channelkit.StateStopped},
		{"address in use", taken, nopSink{}, false, "chan: listen on ", channelkit.StateFailed},
		{"already running", "127.0.0.1:0", nopSink{}, true, "chan: already running", channelkit.StateConnected},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := channelkit.NewHTTPServer(channelkit.HTTPOptions{Name: "chan", Listen: tc.listen, Handler: http.NotFoundHandler()})
			if tc.running {
				runHTTP(t, s)
				pollState(t, s, channelkit.StateConnected)
			}
			err := s.Run(context.Background(), tc.sink)
			if err == nil || !strings.HasPrefix(err.Error(), tc.wantErr) {
				t.Fatalf("Run = %v, want %q...", err, tc.wantErr)
			}
			h := s.Health().Snapshot()
			if h.State != tc.wantState {
				t.Fatalf("state %q, want %q", h.State, tc.wantState)
			}
			if tc.wantState == channelkit.StateFailed && h.LastError != err.Error() {
				t.Fatalf("last error %q, want %q", h.LastError, err.Error())
			}
		})
	}
}

func TestHTTPServerLifecycle(t *testing.T) {
	at := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	logs := &syncBuffer{}
	var s *channelkit.HTTPServer
	s = channelkit.NewHTTPServer(channelkit.HTTPOptions{
		Name: "chan", Listen: "127.0.0.1:0",
		Handler: http.HandlerFunc(func(rw http.ResponseWriter, _ *http.Request) {
			if s.Sink() == nil {
				rw.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			_, _ = io.WriteString(rw, "served")
		}),
		Logger: slog.New(slog.NewTextHandler(logs, nil)),
		Now:    func() time.Time { return at },
	})
	if st := s.Health().Snapshot().State; st != channelkit.StateStopped {
		t.Fatalf("state before Run %q", st)
	}
	if s.Sink() != nil || s.Stopping() != nil {
		t.Fatal("sink or stopping set before Run")
	}
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	addr := s.Addr()
	s.Health().Error(errFake("old trouble"))
	stop := runHTTP(t, s, "model", "m1")
	pollState(t, s, channelkit.StateConnected)
	if h := s.Health().Snapshot(); h.LastError != "" {
		t.Fatalf("connecting kept the last error %q", h.LastError)
	}
	resp, err := http.Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "served" {
		t.Fatalf("answer %d %q", resp.StatusCode, body)
	}
	stopping := s.Stopping()
	select {
	case <-stopping:
		t.Fatal("stopping closed while running")
	default:
	}
	// The health clock is the injected one.
	s.Health().Inbound()
	if h := s.Health().Snapshot(); !h.LastInbound.Equal(at) {
		t.Fatalf("last inbound %v, want %v", h.LastInbound, at)
	}

	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	select {
	case <-stopping:
	default:
		t.Fatal("stopping not closed after Run")
	}
	if s.Sink() != nil || s.Addr() != "" {
		t.Fatalf("after Run: sink %v, addr %q", s.Sink(), s.Addr())
	}
	if st := s.Health().Snapshot().State; st != channelkit.StateStopped {
		t.Fatalf("state after Run %q", st)
	}
	if l := logs.String(); !strings.Contains(l, `msg="chan: listening" addr=`+addr+" model=m1") {
		t.Fatalf("log %q lacks the listening line", l)
	}
}

type errFake string

func (e errFake) Error() string { return string(e) }

// TestHTTPServerDrain stops a server with a request in flight: a handler
// that answers once Stopping closes finishes its answer; one that does
// not is cut off after ShutdownTimeout.
func TestHTTPServerDrain(t *testing.T) {
	tests := []struct {
		name        string
		onStopping  bool // the handler answers when Stopping closes
		wantStatus  int  // 0: the client sees the connection close
		wantLogLine bool // "graceful shutdown incomplete"
	}{
		{"handler answers on stopping", true, http.StatusAccepted, false},
		{"stuck handler is cut off", false, 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			entered, release := make(chan struct{}), make(chan struct{})
			defer close(release)
			logs := &syncBuffer{}
			var s *channelkit.HTTPServer
			s = channelkit.NewHTTPServer(channelkit.HTTPOptions{
				Name: "chan", Listen: "127.0.0.1:0", ShutdownTimeout: 50 * time.Millisecond,
				Logger: slog.New(slog.NewTextHandler(logs, nil)),
				Handler: http.HandlerFunc(func(rw http.ResponseWriter, _ *http.Request) {
					close(entered)
					if tc.onStopping {
						<-s.Stopping()
						rw.WriteHeader(http.StatusAccepted)
						return
					}
					<-release
				}),
			})
			if err := s.Listen(); err != nil {
				t.Fatal(err)
			}
			addr := s.Addr()
			stop := runHTTP(t, s)
			type result struct {
				status int
				err    error
			}
			got := make(chan result, 1)
			go func() {
				resp, err := http.Get("http://" + addr + "/")
				if err != nil {
					got <- result{err: err}
					return
				}
				resp.Body.Close()
				got <- result{status: resp.StatusCode}
			}()
			<-entered
			if err := stop(); err != nil {
				t.Fatalf("Run: %v", err)
			}
			r := <-got
			if r.status != tc.wantStatus || (tc.wantStatus == 0) != (r.err != nil) {
				t.Fatalf("client got %d, %v; want status %d", r.status, r.err, tc.wantStatus)
			}
			if has := strings.Contains(logs.String(), "chan: graceful shutdown incomplete"); has != tc.wantLogLine {
				t.Fatalf("log %q: incomplete-shutdown line %v, want %v", logs.String(), has, tc.wantLogLine)
			}
		})
	}
}

func TestIsLoopbackHost(t *testing.T) {
	tests := []struct {
		host string
		want bool
	}{
		{"localhost", true},
		{"LocalHost", true},
		{"127.0.0.1", true},
		{"127.8.9.10", true},
		{"::1", true},
		{"[::1]", true},
		{"", false},
		{"0.0.0.0", false},
		{"::", false},
		{"10.0.0.1", false},
		{"example.com", false},
		{"localhost.example.com", false},
	}
	for _, tc := range tests {
		if got := channelkit.IsLoopbackHost(tc.host); got != tc.want {
			t.Errorf("IsLoopbackHost(%q) = %v, want %v", tc.host, got, tc.want)
		}
	}
}

func TestCheckJSONContentType(t *testing.T) {
	tests := []struct {
		ct string
		ok bool
	}{
		{"", true},
		{"application/json", true},
		{"application/json; charset=utf-8", true},
		{"Application/JSON", true},
		{"text/plain", false},
		{"application/jsonx", false},
		{"application/json; =broken", false},
	}
	for _, tc := range tests {
		err := channelkit.CheckJSONContentType(tc.ct)
		if (err == nil) != tc.ok {
			t.Errorf("CheckJSONContentType(%q) = %v, want ok %v", tc.ct, err, tc.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "must be application/json") {
			t.Errorf("CheckJSONContentType(%q) = %v: does not say what is wanted", tc.ct, err)
		}
	}
}

func TestWriteJSON(t *testing.T) {
	rec := httptest.NewRecorder()
	channelkit.WriteJSON(rec, http.StatusTeapot, map[string]string{"a": "b"})
	if rec.Code != http.StatusTeapot || rec.Body.String() != "{\"a\":\"b\"}\n" {
		t.Fatalf("answer %d %q", rec.Code, rec.Body)
	}
	if h := rec.Header(); h.Get("Content-Type") != "application/json" || h.Get("Cache-Control") != "no-store" {
		t.Fatalf("headers %v", h)
	}
}
