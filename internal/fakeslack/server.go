// Package fakeslack is a fake Slack for tests: a real HTTP server on
// 127.0.0.1 speaking the documented Web API shapes
// (https://api.slack.com/web), a Socket Mode WebSocket endpoint
// (https://api.slack.com/apis/connections/socket), and response_url
// endpoints for slash commands. It records everything the app sends and
// injects events, slash commands, rate limits, stalls and malformed frames.
// It also signs requests for testing the HTTP (Events API) mode.
package fakeslack

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// Call is one recorded Web API or response_url request.
type Call struct {
	// Method is the Web API method ("chat.postMessage") or "response_url".
	Method string
	// Params are the form fields or top-level JSON fields as strings.
	Params map[string]string
	// Path is the request path (for response_url: /response/<id>).
	Path   string
	At     time.Time
	Status int
	// Error is the Slack error code answered ("" when ok).
	Error string
}

// Failure is what the next call of a method answers.
type Failure struct {
	// Status is the HTTP status (429, 500, ...); 200 with Error set gives a
	// Slack-level error ({"ok":false,"error":...}).
	Status int
	// RetryAfter is the Retry-After header in seconds (429).
	RetryAfter int
	Error      string
}

// Ack is an acknowledgement the app sent over the socket.
type Ack struct {
	EnvelopeID string
	Payload    json.RawMessage
	At         time.Time
}

// Server is the fake Slack.
type Server struct {
	BotToken      string
	AppToken      string
	SigningSecret string
	BotUserID     string
	BotID         string
	TeamID        string
	// URL is the server's base URL; APIURL is URL+"/api/" for
	// slack.OptionAPIURL.
	URL    string
	APIURL string
	// PingInterval makes the socket send WebSocket pings (0: none).
	PingInterval time.Duration

	srv      *httptest.Server
	upgrader websocket.Upgrader

	mu        sync.Mutex
	changed   chan struct{}
	calls     []Call
	counts    map[string]int
	countOnly bool
	failures  map[string][]Failure
	users     map[string]string // id -> real name
	messages  map[string]string // channel:ts -> text
	ts        int64
	envelope  int
	conns     []*socket
	connCount int
	acks      []Ack
	closed    bool
	// stalledSocks are sockets silenced by StallSockets.
	stalledSocks map[*socket]bool
}

type socket struct {
	conn  *websocket.Conn
	wmu   sync.Mutex
	close chan struct{}
	once  sync.Once
}

func (s *socket) write(msgType int, data []byte) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	_ = s.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	return s.conn.WriteMessage(msgType, data)
}

func (s *socket) shut() {
	s.once.Do(func() {
		close(s.close)
		_ = s.conn.Close()
	})
}

// New starts a fake Slack with fixed tokens.
func New() *Server {
	s := &Server{
		BotToken:      "xoxb-test-bot-token",
		AppToken:      "xapp-test-app-token",
		SigningSecret: "8f742231b10e8888abcd99yyyzzz85a5",
		BotUserID:     "U0BOT",
		BotID:         "B0BOT",
		TeamID:        "T0TEAM",
		changed:       make(chan struct{}),
		failures:      make(map[string][]Failure),
		users:         map[string]string{},
		messages:      map[string]string{},
		ts:            1767225600_000100,
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	s.APIURL = s.srv.URL + "/api/"
	return s
}

// Close stops the server and every socket.
func (s *Server) Close() {
	s.mu.Lock()
	s.closed = true
	conns := s.conns
	s.conns = nil
	s.notifyLocked()
	s.mu.Unlock()
	for _, c := range conns {
		c.shut()
	}
	s.srv.CloseClientConnections()
	s.srv.Close()
}

func (s *Server) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// AddUser makes users.info know a user.
func (s *Server) AddUser(id, realName string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[id] = realName
}

// Fail makes the next call of method answer with f.
func (s *Server) Fail(method string, f Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures[method] = append(s.failures[method], f)
}

// WaitCount waits until method was called at least n times, or the
// real-time limit passes (cheaper than WaitCalls: nothing is copied).
func (s *Server) WaitCount(method string, n int, limit time.Duration) bool {
	return s.waitFor(limit, func() bool { return s.counts[method] >= n })
}

// Count returns how many times method was called.
func (s *Server) Count(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[method]
}

// Calls returns the recorded calls of method ("" for all).
func (s *Server) Calls(method string) []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Call
	for _, c := range s.calls {
		if method == "" || c.Method == method {
			out = append(out, c)
		}
	}
	return out
}

// WaitCalls waits until method was called n times, or the real-time limit.
func (s *Server) WaitCalls(method string, n int, limit time.Duration) ([]Call, bool) {
	ok := s.waitFor(limit, func() bool { return s.counts[method] >= n })
	return s.Calls(method), ok
}

// Message returns the current text of a posted message.
func (s *Server) Message(channel, ts string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.messages[channel+":"+ts]
	return t, ok
}

func (s *Server) waitFor(limit time.Duration, cond func() bool) bool {
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		ok := cond()
		ch := s.changed
		s.mu.Unlock()
		if ok {
			return true
		}
		select {
		case <-ch:
		case <-deadline.C:
			return false
		}
	}
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/socket":
		s.serveSocket(w, r)
	case strings.HasPrefix(r.URL.Path, "/response/"):
		s.serveResponseURL(w, r)
	case strings.HasPrefix(r.URL.Path, "/api/"):
		s.serveAPI(w, r, strings.TrimPrefix(r.URL.Path, "/api/"))
	default:
		http.NotFound(w, r)
	}
}

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request, method string) {
	params, err := readParams(r)
	call := Call{Method: method, Params: params, Path: r.URL.Path, At: time.Now(), Status: http.StatusOK}
	if err != nil {
		call.Status, call.Error = http.StatusBadRequest, "invalid_form_data"
		s.record(call)
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "invalid_form_data"})
		return
	}
	token := params["token"]
	if bearer, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		token = bearer
	}
	s.mu.Lock()
	if fs := s.failures[method]; len(fs) > 0 {
		f := fs[0]
		s.failures[method] = fs[1:]
		s.mu.Unlock()
		call.Status, call.Error = max(f.Status, 200), f.Error
		s.record(call)
		if f.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(f.RetryAfter))
		}
		if f.Status != 0 && f.Status != http.StatusOK {
			w.WriteHeader(f.Status)
			_, _ = io.WriteString(w, http.StatusText(f.Status))
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": f.Error})
		return
	}
	s.mu.Unlock()

	want := s.BotToken
	if method == "apps.connections.open" {
		want = s.AppToken
	}
	if token != want {
		e := "invalid_auth"
		if token == "" {
			e = "not_authed"
		}
		call.Error = e
		s.record(call)
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": e})
		return
	}
	result, errCode := s.method(method, params)
	call.Error = errCode
	s.record(call)
	if errCode != "" {
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": errCode})
		return
	}
	result["ok"] = true
	writeJSON(w, http.StatusOK, result)
}

func (s *Server) record(c Call) {
	s.mu.Lock()
	s.addCallLocked(c)
	s.notifyLocked()
	s.mu.Unlock()
}

// maxTextLen is where Slack truncates a message's text.
const maxTextLen = 40000

func (s *Server) method(method string, p map[string]string) (map[string]any, string) {
	switch method {
	case "auth.test":
		return map[string]any{"url": "https://hearth-test.slack.com/", "team": "Hearth Test", "user": "hearth",
			"team_id": s.TeamID, "user_id": s.BotUserID, "bot_id": s.BotID}, ""
	case "apps.connections.open":
		s.mu.Lock()
		s.connCount++
		n := s.connCount
		s.mu.Unlock()
		return map[string]any{"url": strings.Replace(s.URL, "http://", "ws://", 1) + "/socket?ticket=" + strconv.Itoa(n)}, ""
	case "chat.postMessage":
		if p["channel"] == "" {
			return nil, "channel_not_found"
		}
		if strings.TrimSpace(p["text"]) == "" && p["blocks"] == "" {
			return nil, "no_text"
		}
		if len([]rune(p["text"])) > maxTextLen {
			return nil, "msg_too_long"
		}
		s.mu.Lock()
		s.ts++
		ts := fmt.Sprintf("%d.%06d", s.ts/1_000_000, s.ts%1_000_000)
		s.messages[p["channel"]+":"+ts] = p["text"]
		s.mu.Unlock()
		return map[string]any{"channel": p["channel"], "ts": ts,
			"message": map[string]any{"type": "message", "text": p["text"], "user": s.BotUserID, "ts": ts, "thread_ts": p["thread_ts"]}}, ""
	case "chat.postEphemeral":
		if p["channel"] == "" || p["user"] == "" {
			return nil, "user_not_in_channel"
		}
		if strings.TrimSpace(p["text"]) == "" {
			return nil, "no_text"
		}
		s.mu.Lock()
		s.ts++
		ts := fmt.Sprintf("%d.%06d", s.ts/1_000_000, s.ts%1_000_000)
		s.mu.Unlock()
		return map[string]any{"message_ts": ts}, ""
	case "chat.update":
		s.mu.Lock()
		defer s.mu.Unlock()
		key := p["channel"] + ":" + p["ts"]
		if _, ok := s.messages[key]; !ok {
			return nil, "message_not_found"
		}
		if len([]rune(p["text"])) > maxTextLen {
			return nil, "msg_too_long"
		}
		s.messages[key] = p["text"]
		return map[string]any{"channel": p["channel"], "ts": p["ts"], "text": p["text"]}, ""
	case "users.info":
		s.mu.Lock()
		name, ok := s.users[p["user"]]
		s.mu.Unlock()
		if !ok {
			return nil, "user_not_found"
		}
		return map[string]any{"user": map[string]any{"id": p["user"], "name": strings.ToLower(strings.Fields(name)[0]), "real_name": name,
			"profile": map[string]any{"real_name": name, "display_name": name}}}, ""
	}
	return nil, "unknown_method"
}

func (s *Server) serveResponseURL(w http.ResponseWriter, r *http.Request) {
	params, err := readParams(r)
	call := Call{Method: "response_url", Params: params, Path: r.URL.Path, At: time.Now(), Status: http.StatusOK}
	if err != nil || params["text"] == "" {
		call.Status = http.StatusBadRequest
		s.record(call)
		http.Error(w, "invalid_payload", http.StatusBadRequest)
		return
	}
	s.record(call)
	writeJSON(w, http.StatusOK, map[string]any{"ok": true})
}

// ResponseURL returns a response_url for a slash command.
func (s *Server) ResponseURL(id string) string { return s.URL + "/response/" + id }

// readParams reads form fields or top-level JSON fields.
func readParams(r *http.Request) (map[string]string, error) {
	params := map[string]string{}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "application/json" {
		body, err := io.ReadAll(io.LimitReader(r.Body, 10<<20))
		if err != nil {
			return nil, err
		}
		if len(body) == 0 {
			return params, nil
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(body, &m); err != nil {
			return nil, err
		}
		for k, v := range m {
			var str string
			if json.Unmarshal(v, &str) == nil {
				params[k] = str
			} else {
				params[k] = string(v)
			}
		}
		return params, nil
	}
	if err := r.ParseForm(); err != nil {
		return nil, err
	}
	for k, v := range r.Form {
		params[k] = v[0]
	}
	return params, nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) addCallLocked(c Call) {
	if s.counts == nil {
		s.counts = make(map[string]int)
	}
	if !s.countOnly {
		s.calls = append(s.calls, c)
	}
	s.counts[c.Method]++
}

// CountOnly stops recording calls (they are still counted), so that long
// benchmarks do not accumulate them.
func (s *Server) CountOnly() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.countOnly = true
	s.calls = nil
}
