package bot

import (
	"fmt"

	"github.com/hearthbot/hearth/adapters/slack"
	"github.com/hearthbot/hearth/adapters/telegram"
	"github.com/hearthbot/hearth/engine"
)

// platformChannels builds the enabled Telegram and Slack channels. A
// channel whose token the platform rejects fails when it runs, naming the
// key; in `hearth serve` the others keep running.
func (b *Bot) platformChannels() ([]engine.Channel, error) {
	var out []engine.Channel
	c := b.cfg.Channels
	if c.Telegram.Enabled {
		t := c.Telegram
		ch, err := telegram.New(telegram.Config{
			Token: t.Token, APIURL: t.APIURL, Mode: t.Mode, PollTimeout: t.PollTimeout, StallAfter: t.StallAfter,
			WebhookURL: t.WebhookURL, WebhookSecret: t.WebhookSecret, Listen: t.WebhookListen,
			Attachments: b.attachments, Logger: b.log.With("channel", "telegram"),
		})
		if err != nil {
			return nil, fmt.Errorf("channels.telegram: %w", err)
		}
		out = append(out, ch)
	}
	if c.Slack.Enabled {
		s := c.Slack
		ch, err := slack.New(slack.Config{
			Mode: s.Mode, BotToken: s.BotToken, AppToken: s.AppToken, SigningSecret: s.SigningSecret,
			APIURL: s.APIURL, Listen: s.Listen, SlashCommand: s.Command, SlashVisibility: s.CommandVisibility,
			StallAfter: s.StallAfter, Logger: b.log.With("channel", "slack"),
		})
		if err != nil {
			return nil, fmt.Errorf("channels.slack: %w", err)
		}
		out = append(out, ch)
	}
	return out, nil
}
