package telegram

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"

	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/engine/channelkit"
)

// allowedUpdates are the update types the channel asks for.
var allowedUpdates = []string{models.AllowedUpdateMessage, models.AllowedUpdateEditedMessage}

// Run connects to Telegram and feeds updates to sink until ctx ends. It
// returns an error naming channels.telegram.token when Telegram rejects
// the token, and channels.telegram.listen when the webhook port is taken.
func (c *Channel) Run(ctx context.Context, sink engine.Sink) error {
	c.health.SetState(channelkit.StateStarting)
	sup := &channelkit.Supervisor{
		Name:       c.name,
		Clock:      c.clock,
		Logger:     c.cfg.Logger,
		Health:     c.health,
		Backoff:    *c.cfg.Backoff,
		StallAfter: c.cfg.StallAfter,
	}
	started := false
	return sup.Run(ctx, func(ctx context.Context, conn *channelkit.Conn) error {
		if !started {
			if err := c.start(ctx); err != nil {
				return err
			}
			started = true
		}
		if c.cfg.Mode == ModeWebhook {
			return c.serveWebhook(ctx, conn, sink)
		}
		return c.poll(ctx, conn, sink)
	})
}

// start checks the token, sets up the update source and registers the
// bot's commands.
func (c *Channel) start(ctx context.Context) error {
	me, err := c.api.GetMe(ctx)
	if err != nil {
		if errors.Is(err, bot.ErrorUnauthorized) || errors.Is(err, bot.ErrorNotFound) {
			return tokenError(err)
		}
		return fmt.Errorf("getMe: %w", err)
	}
	c.mu.Lock()
	c.me = botIdentity{id: me.ID, username: me.Username}
	c.mu.Unlock()
	if c.cfg.Mode == ModePolling {
		// getUpdates does not work while a webhook is set.
		if _, err := c.api.DeleteWebhook(ctx, &bot.DeleteWebhookParams{}); err != nil {
			return fmt.Errorf("deleteWebhook: %w", err)
		}
	} else if err := c.setWebhook(ctx); err != nil {
		return err
	}
	cmds := make([]models.BotCommand, 0, len(c.cfg.Commands))
	for _, cmd := range c.cfg.Commands {
		cmds = append(cmds, models.BotCommand{Command: cmd.Name, Description: cmd.Description})
	}
	if len(cmds) > 0 {
		if _, err := c.api.SetMyCommands(ctx, &bot.SetMyCommandsParams{Commands: cmds}); err != nil {
			c.log.Warn("could not register the bot's commands", "err", err)
		}
	}
	c.log.Info("telegram connected", "bot", me.Username, "mode", c.cfg.Mode)
	return nil
}

// updatesResponse is the Bot API envelope of getUpdates, with each update
// kept raw so that one malformed update cannot poison the batch.
type updatesResponse struct {
	OK          bool              `json:"ok"`
	Result      []json.RawMessage `json:"result"`
	ErrorCode   int               `json:"error_code"`
	Description string            `json:"description"`
	Parameters  struct {
		RetryAfter int `json:"retry_after"`
	} `json:"parameters"`
}

// poll long-polls getUpdates. The offset advances only past updates the
// sink accepted (or that the channel deliberately skips), so an update
// whose Accept failed is delivered again.
func (c *Channel) poll(ctx context.Context, conn *channelkit.Conn, sink engine.Sink) error {
	failures := 0
	for {
		batch, err := c.getUpdates(ctx)
		if ctx.Err() != nil {
			return nil
		}
		var re *channelkit.RetryError
		if errors.As(err, &re) && re.RetryAfter > 0 {
			conn.Alive() // Telegram answered; it only asked us to wait
			c.log.Warn("getUpdates rate limited", "retry_after", re.RetryAfter)
			if !c.sleep(ctx, re.RetryAfter) {
				return nil
			}
			continue
		}
		if err != nil {
			return err
		}
		conn.Alive()
		c.mu.Lock()
		before := c.offset
		c.mu.Unlock()
		ok := c.handleBatch(ctx, batch, sink)
		c.mu.Lock()
		stuck := len(batch) > 0 && c.offset == before
		c.mu.Unlock()
		if ok && stuck {
			// Only updates without a readable update_id: they cannot be
			// confirmed, so do not spin on them.
			ok = false
			c.log.Error("getUpdates returned updates without a readable update_id", "count", len(batch))
		}
		if !ok {
			// An update could not be accepted: wait, then poll again from it.
			wait := c.cfg.Backoff.Delay(failures)
			failures++
			if !c.sleep(ctx, wait) {
				return nil
			}
			continue
		}
		failures = 0
	}
}

func (c *Channel) sleep(ctx context.Context, d time.Duration) bool {
	t := c.clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C():
		return true
	case <-ctx.Done():
		return false
	}
}

func (c *Channel) getUpdates(ctx context.Context) ([]json.RawMessage, error) {
	c.mu.Lock()
	offset := c.offset
	c.mu.Unlock()
	body, _ := json.Marshal(map[string]any{
		"offset":          offset,
		"timeout":         int(c.cfg.PollTimeout / time.Second),
		"allowed_updates": allowedUpdates,
	})
	url := c.baseURL + "/bot" + c.cfg.Token + "/getUpdates"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("getUpdates: %w", redact(err, c.cfg.Token))
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("getUpdates: %w", redact(err, c.cfg.Token))
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("getUpdates: reading the answer: %w", err)
	}
	var r updatesResponse
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, fmt.Errorf("getUpdates: malformed answer (HTTP %d): %w", resp.StatusCode, err)
	}
	if !r.OK {
		err := fmt.Errorf("getUpdates: %d %s", r.ErrorCode, r.Description)
		switch r.ErrorCode {
		case http.StatusUnauthorized, http.StatusNotFound:
			return nil, tokenError(err)
		case http.StatusTooManyRequests:
			return nil, &channelkit.RetryError{Status: r.ErrorCode, RetryAfter: time.Duration(r.Parameters.RetryAfter) * time.Second, Err: err}
		}
		return nil, err
	}
	return r.Result, nil
}

// handleBatch hands each update to the sink in order and advances the
// offset past each one done with. It returns false when an Accept failed.
func (c *Channel) handleBatch(ctx context.Context, batch []json.RawMessage, sink engine.Sink) bool {
	for _, raw := range batch {
		id, err := c.handleRaw(ctx, raw, sink)
		if err != nil && ctx.Err() != nil {
			return false // shutting down; the update is fetched again next time
		}
		if err != nil {
			c.health.Error(err)
			c.log.Error("update not accepted; it will be fetched again", "update_id", id, "err", err)
			return false
		}
		c.mu.Lock()
		if id > 0 && id >= c.offset {
			c.offset = id + 1
		}
		c.mu.Unlock()
	}
	return true
}

// handleRaw decodes and processes one update; it returns the update id
// (0 when even that is unreadable) and an error only when the sink failed.
func (c *Channel) handleRaw(ctx context.Context, raw json.RawMessage, sink engine.Sink) (int64, error) {
	var head struct {
		ID int64 `json:"update_id"`
	}
	_ = json.Unmarshal(raw, &head)
	var upd models.Update
	if err := json.Unmarshal(raw, &upd); err != nil {
		c.log.Warn("malformed update skipped", "update_id", head.ID, "err", err, "bytes", len(raw))
		c.health.Error(fmt.Errorf("malformed update %d: %w", head.ID, err))
		return head.ID, nil
	}
	return upd.ID, c.handleUpdate(ctx, &upd, sink)
}

// handleUpdate normalizes one update and hands it to the sink, unless the
// same update id was already accepted.
func (c *Channel) handleUpdate(ctx context.Context, upd *models.Update, sink engine.Sink) error {
	key := strconv.FormatInt(upd.ID, 10)
	if c.seen.Contains(key) {
		c.log.Debug("redelivered update skipped", "update_id", upd.ID)
		return nil
	}
	in, ok := c.normalize(ctx, upd)
	if !ok {
		c.seen.Add(key)
		return nil
	}
	c.health.Inbound()
	rec, err := sink.Accept(ctx, in)
	if err != nil {
		return fmt.Errorf("accept %s: %w", in.MessageID, err)
	}
	c.seen.Add(key)
	c.log.Debug("update accepted", "update_id", upd.ID, "message_id", in.MessageID, "status", rec.Status)
	return nil
}
