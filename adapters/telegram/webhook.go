package telegram

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"

	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/engine/channelkit"
)

// maxWebhookBody bounds one webhook request.
const maxWebhookBody = 1 << 20

func (c *Channel) setWebhook(ctx context.Context) error {
	_, err := c.api.SetWebhook(ctx, &bot.SetWebhookParams{
		URL:            c.cfg.WebhookURL,
		SecretToken:    c.cfg.WebhookSecret,
		AllowedUpdates: allowedUpdates,
	})
	if err != nil {
		if errors.Is(err, bot.ErrorUnauthorized) {
			return tokenError(err)
		}
		return fmt.Errorf("setWebhook: %w", err)
	}
	return nil
}

// serveWebhook receives updates over HTTP. Liveness comes from asking
// Telegram for the webhook's state every StallAfter/3: a webhook that
// Telegram no longer knows about is set again.
func (c *Channel) serveWebhook(ctx context.Context, conn *channelkit.Conn, sink engine.Sink) error {
	ln, err := net.Listen("tcp", c.cfg.Listen)
	if err != nil {
		return channelkit.Permanent(fmt.Errorf("channels.telegram.listen: %w", err))
	}
	c.mu.Lock()
	c.addr = ln.Addr().String()
	c.mu.Unlock()
	mux := http.NewServeMux()
	mux.Handle(c.cfg.WebhookPath, c.WebhookHandler(sink))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	defer func() {
		shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdownCtx)
	}()
	c.log.Info("telegram webhook listening", "addr", ln.Addr().String(), "path", c.cfg.WebhookPath)
	conn.Alive()
	for {
		if err := c.checkWebhook(ctx); err != nil {
			c.log.Warn("webhook check failed", "err", err)
			c.health.Error(err)
		} else {
			conn.Alive()
		}
		t := c.clock.NewTimer(c.cfg.StallAfter / 3)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case err := <-serveErr:
			t.Stop()
			return fmt.Errorf("webhook server: %w", err)
		case <-t.C():
		}
	}
}

func (c *Channel) checkWebhook(ctx context.Context) error {
	info, err := c.api.GetWebhookInfo(ctx)
	if err != nil {
		return fmt.Errorf("getWebhookInfo: %w", err)
	}
	if info.URL != c.cfg.WebhookURL {
		c.log.Warn("telegram has a different webhook; setting ours again", "telegram_has", info.URL)
		return c.setWebhook(ctx)
	}
	return nil
}

// WebhookHandler returns the HTTP handler for Telegram's webhook calls. It
// answers 401 (and logs) a request without the right secret token, and 200
// only after the sink accepted the update, so Telegram redelivers an update
// whose Accept failed.
func (c *Channel) WebhookHandler(sink engine.Sink) http.Handler {
	secret := []byte(c.cfg.WebhookSecret)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		got := []byte(r.Header.Get("X-Telegram-Bot-Api-Secret-Token"))
		if len(secret) == 0 || subtle.ConstantTimeCompare(got, secret) != 1 {
			c.log.Warn("webhook request with a wrong or missing secret token rejected", "remote", r.RemoteAddr)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxWebhookBody))
		if err != nil {
			http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
			return
		}
		var upd models.Update
		if err := json.Unmarshal(body, &upd); err != nil || upd.ID == 0 {
			// Redelivering a malformed update would not fix it.
			c.log.Warn("malformed webhook update dropped", "err", err, "bytes", len(body))
			w.WriteHeader(http.StatusOK)
			return
		}
		if err := c.handleUpdate(r.Context(), &upd, sink); err != nil {
			c.health.Error(err)
			c.log.Error("webhook update not accepted; Telegram will redeliver it", "update_id", upd.ID, "err", err)
			http.Error(w, "not accepted", http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
}
