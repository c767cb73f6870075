package bot

import (
	"context"
	"fmt"

	"github.com/hearthbot/hearth/adapters/webhook"
	"github.com/hearthbot/hearth/engine"
)

// newWebhook builds the HTTP webhook channel from channels.webhook,
// backed by the store for replies to retried requests and for callbacks
// that survive a restart.
func (b *Bot) newWebhook() (*webhook.Server, error) {
	c := b.cfg.Channels.Webhook
	st := b.Store
	w, err := webhook.New(webhook.Options{
		Listen:                 c.Listen,
		Token:                  c.Token,
		Secret:                 c.HMACSecret,
		MaxBodyBytes:           c.MaxBodyBytes,
		ReplyTimeout:           c.ReplyTimeout,
		CallbackTimeout:        c.CallbackTimeout,
		CallbackHosts:          c.CallbackHosts,
		AllowLoopbackCallbacks: c.AllowLoopbackCallbacks,
		DefaultCallbackURL:     c.DefaultCallbackURL,
		Replies:                st.RepliesTo,
		LookupInbound: func(ctx context.Context, id int64) (engine.Inbound, error) {
			m, err := st.GetInbound(ctx, id)
			return m.Inbound, err
		},
		Ready:  st.Ping,
		Logger: b.log.With("channel", "webhook"),
		Now:    b.o.Now,
	})
	if err != nil {
		return nil, fmt.Errorf("channels.webhook: %w", err)
	}
	if err := w.Listen(); err != nil {
		return nil, fmt.Errorf("channels.webhook.listen %s: %w", c.Listen, err)
	}
	return w, nil
}
