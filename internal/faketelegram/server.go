// Package faketelegram is a fake Telegram Bot API server for tests: a real
// HTTP server on 127.0.0.1 that speaks the documented Bot API shapes
// (https://core.telegram.org/bots/api), records every call, and injects
// updates, errors, stalls and malformed payloads. Point go-telegram/bot (or
// anything else) at URL.
package faketelegram

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf16"
)

// Call is one recorded Bot API request.
type Call struct {
	Method string
	// Params are the request's fields as sent: strings as they are, objects
	// and numbers as their JSON text.
	Params map[string]string
	// At is when the request arrived (wall clock).
	At time.Time
	// Status is the error_code answered, or 200.
	Status int
}

// Failure is an error the next call of a method answers with.
type Failure struct {
	// Code is the HTTP status and error_code (429, 400, 502, ...).
	Code        int
	Description string
	// RetryAfter goes into parameters.retry_after (seconds).
	RetryAfter int
	// RawBody, if set, is sent as the body instead of the JSON error (a
	// gateway's HTML page, or garbage).
	RawBody string
}

// BotUser is the bot's identity answered by getMe.
type BotUser struct {
	ID       int64
	Username string
}

type sentMessage struct {
	text      string // as sent (HTML source when parse_mode was set)
	parseMode string
}

type queued struct {
	id  int64
	raw json.RawMessage
}

type file struct {
	path string
	data []byte
}

// Server is the fake Bot API.
type Server struct {
	// Token is the only bot token the server accepts.
	Token string
	// Bot is answered by getMe.
	Bot BotUser
	// URL is the base URL (no trailing slash), for go-telegram/bot's
	// WithServerURL and Hearth's channels.telegram.api_url.
	URL string

	srv *httptest.Server

	mu         sync.Mutex
	changed    chan struct{}
	pending    []queued
	nextUpdate int64
	nextMsg    int
	messages   map[string]*sentMessage // chat_id:message_id
	calls      []Call
	counts     map[string]int
	countOnly  bool
	failures   map[string][]Failure
	stall      bool
	polls      int
	offset     int64
	files      map[string]file
	webhookURL string
	webhookSec string
	closed     bool
}

// New starts a fake Bot API server accepting token.
func New(token string) *Server {
	s := &Server{
		Token:      token,
		Bot:        BotUser{ID: 7000001, Username: "hearth_test_bot"},
		changed:    make(chan struct{}),
		nextUpdate: 100,
		nextMsg:    5000,
		messages:   make(map[string]*sentMessage),
		failures:   make(map[string][]Failure),
		files:      make(map[string]file),
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	return s
}

// Close stops the server; hanging polls return.
func (s *Server) Close() {
	s.mu.Lock()
	s.closed = true
	s.notifyLocked()
	s.mu.Unlock()
	s.srv.CloseClientConnections()
	s.srv.Close()
}

func (s *Server) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// AddUpdate queues an update for getUpdates (or for DeliverWebhook). It sets
// update_id when the map has none and returns it.
func (s *Server) AddUpdate(update map[string]any) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := update["update_id"].(int64)
	if !ok {
		s.nextUpdate++
		id = s.nextUpdate
		update["update_id"] = id
	}
	s.nextUpdate = max(s.nextUpdate, id)
	raw, err := json.Marshal(update)
	if err != nil {
		panic(fmt.Sprintf("faketelegram: update does not marshal: %v", err))
	}
	s.pending = append(s.pending, queued{id: id, raw: raw})
	s.notifyLocked()
	return id
}

// AddRawUpdate queues raw JSON as one element of the getUpdates result (a
// malformed payload); id is the update_id it claims, used for confirming.
func (s *Server) AddRawUpdate(id int64, raw string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pending = append(s.pending, queued{id: id, raw: json.RawMessage(raw)})
	s.nextUpdate = max(s.nextUpdate, id)
	s.notifyLocked()
}

// NextUpdateID reserves an update id (for building a redelivery by hand).
func (s *Server) NextUpdateID() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextUpdate++
	return s.nextUpdate
}

// Fail makes the next call of method answer with f (queued in order).
func (s *Server) Fail(method string, f Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures[method] = append(s.failures[method], f)
}

// Stall makes getUpdates hang without ever answering (while on), like a
// connection that went silent.
func (s *Server) Stall(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stall = on
	s.notifyLocked()
}

// AddFile makes fileID downloadable through getFile.
func (s *Server) AddFile(fileID, path string, data []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.files[fileID] = file{path: path, data: data}
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

// WaitCalls waits until method was called at least n times (successful or
// not) or the real-time limit passes, and returns its calls.
func (s *Server) WaitCalls(method string, n int, limit time.Duration) ([]Call, bool) {
	ok := s.waitFor(limit, func() bool { return s.counts[method] >= n })
	return s.Calls(method), ok
}

// Polls returns how many getUpdates requests have started.
func (s *Server) Polls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.polls
}

// WaitPolls waits until at least n getUpdates requests have started.
func (s *Server) WaitPolls(n int, limit time.Duration) bool {
	return s.waitFor(limit, func() bool { return s.polls >= n })
}

// Offset returns the highest offset a client sent to getUpdates: every
// update below it is confirmed and gone.
func (s *Server) Offset() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.offset
}

// WaitOffset waits until the confirmed offset reaches at least off.
func (s *Server) WaitOffset(off int64, limit time.Duration) bool {
	return s.waitFor(limit, func() bool { return s.offset >= off })
}

// Webhook returns the URL and secret set with setWebhook.
func (s *Server) Webhook() (url, secret string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.webhookURL, s.webhookSec
}

// Message returns the current text of a message the bot sent or edited.
func (s *Server) Message(chatID string, messageID int) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.messages[chatID+":"+strconv.Itoa(messageID)]
	if !ok {
		return "", false
	}
	return m.text, true
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
	if rest, ok := strings.CutPrefix(r.URL.Path, "/file/bot"); ok {
		s.serveFile(w, rest)
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/bot")
	token, method, ok2 := strings.Cut(rest, "/")
	if !ok || !ok2 {
		writeError(w, http.StatusNotFound, "Not Found", 0)
		return
	}
	if token != s.Token {
		writeError(w, http.StatusUnauthorized, "Unauthorized", 0)
		return
	}
	params, err := readParams(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, "Bad Request: "+err.Error(), 0)
		return
	}
	s.mu.Lock()
	call := Call{Method: method, Params: params, At: time.Now(), Status: http.StatusOK}
	if fs := s.failures[method]; len(fs) > 0 {
		f := fs[0]
		s.failures[method] = fs[1:]
		call.Status = f.Code
		s.addCallLocked(call)
		s.notifyLocked()
		s.mu.Unlock()
		if f.RawBody != "" {
			w.WriteHeader(f.Code)
			_, _ = io.WriteString(w, f.RawBody)
			return
		}
		writeError(w, f.Code, f.Description, f.RetryAfter)
		return
	}
	s.mu.Unlock()

	if method == "getUpdates" {
		s.getUpdates(w, r, call)
		return
	}
	result, code, desc := s.handle(method, params)
	call.Status = code
	s.record(call)
	if code != http.StatusOK {
		writeError(w, code, desc, 0)
		return
	}
	writeResult(w, result)
}

func (s *Server) record(c Call) {
	s.mu.Lock()
	s.addCallLocked(c)
	s.notifyLocked()
	s.mu.Unlock()
}

func (s *Server) getUpdates(w http.ResponseWriter, r *http.Request, call Call) {
	offset, _ := strconv.ParseInt(call.Params["offset"], 10, 64)
	limit, _ := strconv.Atoi(call.Params["limit"])
	if limit <= 0 || limit > 100 {
		limit = 100
	}
	timeout, _ := strconv.Atoi(call.Params["timeout"])
	wait := time.NewTimer(time.Duration(min(max(timeout, 0), 50)) * time.Second)
	defer wait.Stop()

	s.mu.Lock()
	if offset > 0 {
		kept := s.pending[:0]
		for _, q := range s.pending {
			if q.id >= offset {
				kept = append(kept, q)
			}
		}
		s.pending = kept
		s.offset = max(s.offset, offset)
	}
	s.polls++
	s.addCallLocked(call)
	s.notifyLocked()
	s.mu.Unlock()

	for {
		s.mu.Lock()
		stall, closed := s.stall, s.closed
		var batch []json.RawMessage
		if !stall {
			for _, q := range s.pending {
				if q.id >= offset && len(batch) < limit {
					batch = append(batch, q.raw)
				}
			}
		}
		ch := s.changed
		s.mu.Unlock()
		if closed {
			return
		}
		if len(batch) > 0 {
			writeResult(w, batch)
			return
		}
		select {
		case <-ch:
		case <-r.Context().Done():
			return
		case <-wait.C:
			if !stall {
				writeResult(w, []json.RawMessage{})
				return
			}
			// A stalled server never answers, whatever timeout was asked.
			wait.Reset(time.Hour)
		}
	}
}

func (s *Server) serveFile(w http.ResponseWriter, rest string) {
	token, path, ok := strings.Cut(rest, "/")
	if !ok || token != s.Token {
		http.Error(w, "Unauthorized", http.StatusUnauthorized)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range s.files {
		if f.path == path {
			_, _ = w.Write(f.data)
			return
		}
	}
	http.NotFound(w, nil)
}

// readParams reads the fields of a Bot API request, which may come as JSON,
// multipart form data, a urlencoded form or the query string.
func readParams(r *http.Request) (map[string]string, error) {
	params := map[string]string{}
	for k, v := range r.URL.Query() {
		params[k] = v[0]
	}
	if r.Method != http.MethodPost {
		return params, nil
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "application/json":
		var m map[string]json.RawMessage
		body, err := io.ReadAll(io.LimitReader(r.Body, 10<<20))
		if err != nil {
			return nil, err
		}
		if len(body) == 0 {
			return params, nil
		}
		if err := json.Unmarshal(body, &m); err != nil {
			return nil, fmt.Errorf("can't parse JSON body: %w", err)
		}
		for k, v := range m {
			var str string
			if json.Unmarshal(v, &str) == nil {
				params[k] = str
			} else {
				params[k] = string(v)
			}
		}
	case "multipart/form-data":
		if err := r.ParseMultipartForm(10 << 20); err != nil {
			if r.ContentLength == 0 || errors.Is(err, io.EOF) {
				return params, nil // a method without parameters
			}
			return nil, err
		}
		for k, v := range r.MultipartForm.Value {
			params[k] = v[0]
		}
	case "application/x-www-form-urlencoded":
		if err := r.ParseForm(); err != nil {
			return nil, err
		}
		for k, v := range r.PostForm {
			params[k] = v[0]
		}
	}
	return params, nil
}

func writeResult(w http.ResponseWriter, result any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "result": result})
}

func writeError(w http.ResponseWriter, code int, desc string, retryAfter int) {
	body := map[string]any{"ok": false, "error_code": code, "description": desc}
	if retryAfter > 0 {
		body["parameters"] = map[string]any{"retry_after": retryAfter}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(body)
}

func utf16Len(s string) int { return len(utf16.Encode([]rune(s))) }

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
