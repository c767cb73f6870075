package fakeslack

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/gorilla/websocket"
)

// ErrNoSocket is returned when no healthy Socket Mode connection is open.
var ErrNoSocket = errors.New("fakeslack: no open socket")

func (s *Server) serveSocket(w http.ResponseWriter, r *http.Request) {
	up := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
	conn, err := up.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	sock := &socket{conn: conn, close: make(chan struct{})}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		_ = conn.Close()
		return
	}
	s.conns = append(s.conns, sock)
	s.notifyLocked()
	s.mu.Unlock()

	hello, _ := json.Marshal(map[string]any{
		"type": "hello", "num_connections": 1,
		"debug_info":      map[string]any{"host": "fakeslack", "approximate_connection_time": 18060},
		"connection_info": map[string]any{"app_id": "A0APP"},
	})
	if err := sock.write(websocket.TextMessage, hello); err != nil {
		s.drop(sock)
		return
	}
	if s.PingInterval > 0 {
		go s.ping(sock)
	}
	for {
		_, data, err := conn.ReadMessage()
		if err != nil {
			s.drop(sock)
			return
		}
		var ack struct {
			EnvelopeID string          `json:"envelope_id"`
			Payload    json.RawMessage `json:"payload"`
		}
		if json.Unmarshal(data, &ack) != nil || ack.EnvelopeID == "" {
			continue
		}
		s.mu.Lock()
		s.acks = append(s.acks, Ack{EnvelopeID: ack.EnvelopeID, Payload: ack.Payload, At: time.Now()})
		s.notifyLocked()
		s.mu.Unlock()
	}
}

func (s *Server) ping(sock *socket) {
	t := time.NewTicker(s.PingInterval)
	defer t.Stop()
	for {
		select {
		case <-sock.close:
			return
		case <-t.C:
			if s.isStalled(sock) {
				continue
			}
			sock.wmu.Lock()
			err := sock.conn.WriteControl(websocket.PingMessage, []byte("ping"), time.Now().Add(time.Second))
			sock.wmu.Unlock()
			if err != nil {
				return
			}
		}
	}
}

func (s *Server) drop(sock *socket) {
	sock.shut()
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, c := range s.conns {
		if c == sock {
			s.conns = append(s.conns[:i], s.conns[i+1:]...)
			break
		}
	}
	s.notifyLocked()
}

func (s *Server) isStalled(sock *socket) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stalledSet()[sock]
}

func (s *Server) stalledSet() map[*socket]bool {
	if s.stalledSocks == nil {
		s.stalledSocks = map[*socket]bool{}
	}
	return s.stalledSocks
}

// StallSockets silences every open socket: it stays open, but sends
// nothing more (no pings, no events), like a connection that died without
// a close. New connections are healthy.
func (s *Server) StallSockets() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		s.stalledSet()[c] = true
	}
}

// Connections returns how many Socket Mode connections were opened
// (apps.connections.open calls that succeeded).
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.connCount
}

// WaitSockets waits until at least n WebSocket connections have been
// accepted in total and one healthy socket is open.
func (s *Server) WaitSockets(n int, limit time.Duration) bool {
	return s.waitFor(limit, func() bool {
		if s.connCount < n {
			return false
		}
		for _, c := range s.conns {
			if !s.stalledSet()[c] {
				return true
			}
		}
		return false
	})
}

func (s *Server) liveSocket() (*socket, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.conns) - 1; i >= 0; i-- {
		if c := s.conns[i]; !s.stalledSet()[c] {
			return c, nil
		}
	}
	return nil, ErrNoSocket
}

func (s *Server) nextEnvelope() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.envelope++
	return "env-" + strconv.Itoa(s.envelope)
}

// SendEnvelope sends a Socket Mode envelope of the given type with payload
// on the newest healthy socket and returns its envelope id.
func (s *Server) SendEnvelope(typ string, payload any, retryAttempt int) (string, error) {
	sock, err := s.liveSocket()
	if err != nil {
		return "", err
	}
	id := s.nextEnvelope()
	msg, err := json.Marshal(map[string]any{
		"envelope_id": id, "type": typ, "payload": payload,
		"accepts_response_payload": typ == "slash_commands",
		"retry_attempt":            retryAttempt, "retry_reason": retryReason(retryAttempt),
	})
	if err != nil {
		return "", fmt.Errorf("fakeslack: marshal envelope: %w", err)
	}
	return id, sock.write(websocket.TextMessage, msg)
}

func retryReason(n int) string {
	if n > 0 {
		return "timeout"
	}
	return ""
}

// SendEvent sends an Events API event over the socket and returns the
// envelope id. eventID names the event (a retry reuses it).
func (s *Server) SendEvent(event map[string]any, eventID string, retryAttempt int) (string, error) {
	return s.SendEnvelope("events_api", s.CallbackBody(event, eventID), retryAttempt)
}

// SendSlashCommand sends a slash command over the socket.
func (s *Server) SendSlashCommand(cmd SlashCommand) (string, error) {
	return s.SendEnvelope("slash_commands", cmd.fields(s), 0)
}

// SendRaw sends a raw text frame (a malformed payload).
func (s *Server) SendRaw(frame string) error {
	sock, err := s.liveSocket()
	if err != nil {
		return err
	}
	return sock.write(websocket.TextMessage, []byte(frame))
}

// Acks returns the acknowledgements received.
func (s *Server) Acks() []Ack {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Ack(nil), s.acks...)
}

// WaitAck waits for the acknowledgement of an envelope.
func (s *Server) WaitAck(envelopeID string, limit time.Duration) (Ack, bool) {
	var found Ack
	ok := s.waitFor(limit, func() bool {
		for _, a := range s.acks {
			if a.EnvelopeID == envelopeID {
				found = a
				return true
			}
		}
		return false
	})
	return found, ok
}
