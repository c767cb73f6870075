package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"

	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/engine/channelkit"
)

// maxBody bounds one HTTP-mode request.
const maxBody = 1 << 20

// serveHTTP runs the Events API and slash-command endpoints.
func (c *Channel) serveHTTP(ctx context.Context, conn *channelkit.Conn, sink engine.Sink) error {
	ln, err := net.Listen("tcp", c.cfg.Listen)
	if err != nil {
		return channelkit.Permanent(fmt.Errorf("channels.slack.listen: %w", err))
	}
	c.mu.Lock()
	c.addr = ln.Addr().String()
	c.mu.Unlock()
	mux := http.NewServeMux()
	mux.Handle(c.cfg.EventsPath, c.EventsHandler(sink))
	mux.Handle(c.cfg.CommandsPath, c.CommandsHandler(sink))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	c.log.Info("slack http mode listening", "addr", ln.Addr().String(), "events", c.cfg.EventsPath, "commands", c.cfg.CommandsPath)
	conn.Alive()
	select {
	case <-ctx.Done():
		shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdownCtx)
		return nil
	case err := <-serveErr:
		return fmt.Errorf("slack http server: %w", err)
	}
}

// verify reads the body and checks Slack's signature and timestamp; a
// request that fails gets 401 and is logged.
func (c *Channel) verify(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return nil, false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
		return nil, false
	}
	sv, err := slack.NewSecretsVerifier(r.Header, c.cfg.SigningSecret)
	if err == nil {
		_, _ = sv.Write(body)
		err = sv.Ensure()
	}
	if err != nil {
		reason := "bad signature"
		if errors.Is(err, slack.ErrExpiredTimestamp) {
			reason = "stale timestamp"
		} else if errors.Is(err, slack.ErrMissingHeaders) {
			reason = "missing signature headers"
		}
		c.log.Warn("slack request rejected", "reason", reason, "err", err, "remote", r.RemoteAddr, "path", r.URL.Path)
		http.Error(w, "invalid signature", http.StatusUnauthorized)
		return nil, false
	}
	if n := r.Header.Get("X-Slack-Retry-Num"); n != "" {
		c.log.Debug("slack retry", "attempt", n, "reason", r.Header.Get("X-Slack-Retry-Reason"))
	}
	return body, true
}

// EventsHandler serves the Events API endpoint: it answers the URL
// verification challenge and acknowledges an event (200) only after the
// sink accepted it; a failed Accept answers 500 so Slack retries.
func (c *Channel) EventsHandler(sink engine.Sink) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := c.verify(w, r)
		if !ok {
			return
		}
		ev, err := slackevents.ParseEvent(json.RawMessage(body), slackevents.OptionNoVerifyToken())
		if err != nil {
			// Signed by Slack but unreadable: redelivery would not help.
			c.log.Warn("malformed event dropped", "err", err, "bytes", len(body))
			w.WriteHeader(http.StatusOK)
			return
		}
		if ev.Type == slackevents.URLVerification {
			v, _ := ev.Data.(*slackevents.EventsAPIURLVerificationEvent)
			if v == nil {
				http.Error(w, "bad challenge", http.StatusBadRequest)
				return
			}
			w.Header().Set("Content-Type", "text/plain")
			_, _ = io.WriteString(w, v.Challenge)
			return
		}
		if err := c.handleEvent(r.Context(), ev, sink); err != nil {
			c.health.Error(err)
			c.log.Error("event not accepted; Slack will retry", "err", err)
			http.Error(w, "not accepted", http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
}

// CommandsHandler serves the slash-command endpoint. The command is
// acknowledged as soon as the sink has stored it (well within Slack's 3
// seconds); the answer follows through the response_url.
func (c *Channel) CommandsHandler(sink engine.Sink) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := c.verify(w, r)
		if !ok {
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		cmd, err := slack.SlashCommandParse(r)
		if err != nil {
			c.log.Warn("malformed slash command dropped", "err", err)
			http.Error(w, "bad form", http.StatusBadRequest)
			return
		}
		text, err := c.handleSlash(r.Context(), cmd, sink)
		if err != nil {
			c.log.Error("slash command not accepted", "err", err)
		}
		if text == "" {
			w.WriteHeader(http.StatusOK)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"response_type": Ephemeral, "text": text})
	})
}
