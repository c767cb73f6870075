package slack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/gorilla/websocket"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"

	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/engine/channelkit"
)

// Run connects to Slack and feeds events to sink until ctx ends. A
// rejected token fails at once with an error naming its config key.
func (c *Channel) Run(ctx context.Context, sink engine.Sink) error {
	c.health.SetState(channelkit.StateStarting)
	sup := &channelkit.Supervisor{
		Name:    c.name,
		Clock:   c.clock,
		Logger:  c.cfg.Logger,
		Health:  c.health,
		Backoff: *c.cfg.Backoff,
	}
	if c.cfg.Mode == ModeSocket {
		sup.StallAfter = c.cfg.StallAfter
	}
	started := false
	return sup.Run(ctx, func(ctx context.Context, conn *channelkit.Conn) error {
		if !started {
			if err := c.authTest(ctx); err != nil {
				return err
			}
			started = true
		}
		if c.cfg.Mode == ModeHTTP {
			return c.serveHTTP(ctx, conn, sink)
		}
		return c.runSocket(ctx, conn, sink)
	})
}

// authErrors are the Slack errors that mean a token is not usable.
var authErrors = map[string]bool{
	"invalid_auth": true, "not_authed": true, "account_inactive": true, "token_revoked": true,
	"token_expired": true, "not_allowed_token_type": true, "missing_scope": true,
}

func isAuthError(err error) bool {
	var se slack.SlackErrorResponse
	return errors.As(err, &se) && authErrors[se.Err] || err != nil && authErrors[err.Error()]
}

func (c *Channel) authTest(ctx context.Context) error {
	resp, err := c.api.AuthTestContext(ctx)
	if err != nil {
		if isAuthError(err) {
			return channelkit.Permanent(fmt.Errorf("channels.slack.bot_token: rejected by Slack (%w); use the app's xoxb- bot token", err))
		}
		return fmt.Errorf("auth.test: %w", err)
	}
	c.mu.Lock()
	c.botID = resp.UserID
	c.mu.Unlock()
	c.log.Info("slack connected", "team", resp.Team, "bot_user", resp.UserID, "mode", c.cfg.Mode)
	return nil
}

// aliveConn reports every successful read from the socket (frames and
// pings alike) to the watchdog.
type aliveConn struct {
	net.Conn
	alive func()
}

func (a *aliveConn) Read(p []byte) (int, error) {
	n, err := a.Conn.Read(p)
	if n > 0 {
		a.alive()
	}
	return n, err
}

// runSocket runs one Socket Mode client until ctx ends or the client gives
// up. Each event is acknowledged only after the sink accepted it.
func (c *Channel) runSocket(ctx context.Context, conn *channelkit.Conn, sink engine.Sink) error {
	api := slack.New(c.cfg.BotToken,
		slack.OptionAPIURL(c.cfg.APIURL),
		slack.OptionAppLevelToken(c.cfg.AppToken),
		slack.OptionHTTPClient(c.cfg.HTTPClient),
		slack.OptionLog(logOutput{c.log}),
	)
	dialer := &websocket.Dialer{
		Proxy:            http.ProxyFromEnvironment,
		HandshakeTimeout: 45 * time.Second,
		WriteBufferSize:  32 << 10,
		NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			nc, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return &aliveConn{Conn: nc, alive: conn.Alive}, nil
		},
	}
	sm := socketmode.New(api,
		socketmode.OptionDialer(dialer),
		// The watchdog (Supervisor.StallAfter) is the authority on
		// liveness; the library's own ping check is a backstop.
		socketmode.OptionPingInterval(2*c.cfg.StallAfter),
		socketmode.OptionLog(logOutput{c.log}),
		socketmode.OptionReadLimit(8<<20),
	)
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	runErr := make(chan error, 1)
	go func() { runErr <- sm.RunContext(runCtx) }()
	for {
		select {
		case <-ctx.Done():
			cancel()
			<-runErr
			return nil
		case err := <-runErr:
			if ctx.Err() != nil {
				return nil
			}
			if isAuthError(err) {
				return channelkit.Permanent(fmt.Errorf("channels.slack.app_token: rejected by Slack (%w); use an xapp- app-level token with connections:write", err))
			}
			return fmt.Errorf("socket mode: %w", err)
		case evt := <-sm.Events:
			if err := c.handleSocketEvent(ctx, sm, evt, sink); err != nil {
				cancel()
				<-runErr
				return err
			}
		}
	}
}

func (c *Channel) handleSocketEvent(ctx context.Context, sm *socketmode.Client, evt socketmode.Event, sink engine.Sink) error {
	switch evt.Type {
	case socketmode.EventTypeConnected, socketmode.EventTypeHello:
		c.log.Debug("socket mode", "event", evt.Type)
	case socketmode.EventTypeInvalidAuth:
		return channelkit.Permanent(errors.New("channels.slack.app_token: rejected by Slack; use an xapp- app-level token with connections:write"))
	case socketmode.EventTypeConnectionError, socketmode.EventTypeIncomingError:
		c.log.Warn("socket mode trouble", "event", evt.Type, "detail", fmt.Sprint(evt.Data))
	case socketmode.EventTypeErrorBadMessage:
		bad, _ := evt.Data.(*socketmode.ErrorBadMessage)
		var env struct {
			EnvelopeID string `json:"envelope_id"`
		}
		if bad != nil {
			_ = json.Unmarshal(bad.Message, &env)
		}
		c.log.Warn("malformed socket payload dropped", "envelope_id", env.EnvelopeID, "err", errorOf(bad))
		c.health.Error(fmt.Errorf("malformed payload: %v", errorOf(bad)))
		if env.EnvelopeID != "" {
			// Redelivering it would not make it readable.
			_ = sm.AckCtx(ctx, env.EnvelopeID, nil)
		}
	case socketmode.EventTypeEventsAPI:
		ev, ok := evt.Data.(slackevents.EventsAPIEvent)
		if !ok || evt.Request == nil {
			return nil
		}
		if evt.Request.RetryAttempt > 0 {
			c.log.Debug("slack retry", "envelope_id", evt.Request.EnvelopeID, "attempt", evt.Request.RetryAttempt, "reason", evt.Request.RetryReason)
		}
		if err := c.handleEvent(ctx, ev, sink); err != nil {
			if ctx.Err() != nil {
				return nil // shutting down; Slack redelivers the unacknowledged event
			}
			c.health.Error(err)
			c.log.Error("event not accepted; Slack will redeliver it", "envelope_id", evt.Request.EnvelopeID, "err", err)
			return nil // not acknowledged
		}
		_ = sm.AckCtx(ctx, evt.Request.EnvelopeID, nil)
	case socketmode.EventTypeSlashCommand:
		cmd, ok := evt.Data.(slack.SlashCommand)
		if !ok || evt.Request == nil {
			return nil
		}
		var payload any
		if text, err := c.handleSlash(ctx, cmd, sink); text != "" {
			if err != nil {
				c.log.Error("slash command not accepted", "err", err)
			}
			payload = map[string]any{"response_type": Ephemeral, "text": text}
		}
		_ = sm.AckCtx(ctx, evt.Request.EnvelopeID, payload)
	case socketmode.EventTypeInteractive:
		if evt.Request != nil {
			_ = sm.AckCtx(ctx, evt.Request.EnvelopeID, nil)
		}
	}
	return nil
}

func errorOf(bad *socketmode.ErrorBadMessage) error {
	if bad == nil {
		return errors.New("unknown")
	}
	return bad.Cause
}
