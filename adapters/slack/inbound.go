package slack

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"

	"github.com/hearthbot/hearth/engine"
)

const (
	// userCacheTTL is how long a looked-up display name is trusted.
	userCacheTTL = time.Hour
	// userCacheMax bounds the display name cache.
	userCacheMax = 10000
	// slashTTL is how long Slack accepts answers on a response_url.
	slashTTL = 30 * time.Minute
	// slashUses is how many answers a response_url accepts.
	slashUses = 5
)

// handleEvent normalizes an Events API event and hands it to the sink. It
// returns nil when the event is done with (accepted, a retry of one
// accepted before, or not for the engine) and an error when Accept failed.
func (c *Channel) handleEvent(ctx context.Context, ev slackevents.EventsAPIEvent, sink engine.Sink) error {
	if ev.Type != slackevents.CallbackEvent {
		return nil
	}
	cb, _ := ev.Data.(*slackevents.EventsAPICallbackEvent)
	in, ok := c.normalizeEvent(ctx, ev.InnerEvent)
	if !ok {
		return nil
	}
	if cb != nil {
		in.Meta["event_id"] = cb.EventID
	}
	in.Meta["team_id"] = ev.TeamID
	// Slack's retries, and the message + app_mention pair one mention
	// produces, share the channel and ts: hand the engine one of them.
	if c.seen.Contains(in.MessageID) {
		c.log.Debug("repeated event skipped", "message_id", in.MessageID)
		return nil
	}
	c.health.Inbound()
	rec, err := sink.Accept(ctx, in)
	if err != nil {
		return fmt.Errorf("accept %s: %w", in.MessageID, err)
	}
	c.seen.Add(in.MessageID)
	c.log.Debug("event accepted", "message_id", in.MessageID, "status", rec.Status)
	return nil
}

// normalizeEvent turns a message or app_mention into an Inbound. It skips
// edits, deletions, joins, and anything a bot (including this one) wrote.
func (c *Channel) normalizeEvent(ctx context.Context, inner slackevents.EventsAPIInnerEvent) (engine.Inbound, bool) {
	c.mu.Lock()
	botID := c.botID
	c.mu.Unlock()
	var (
		user, text, channel, ts, threadTS, channelType string
		mention                                        bool
	)
	switch e := inner.Data.(type) {
	case *slackevents.AppMentionEvent:
		if e.BotID != "" || e.Edited != nil {
			return engine.Inbound{}, false
		}
		user, text, channel, ts, threadTS, mention = e.User, e.Text, e.Channel, e.TimeStamp, e.ThreadTimeStamp, true
		channelType = "channel"
		if strings.HasPrefix(channel, "G") {
			channelType = "group"
		}
	case *slackevents.MessageEvent:
		if e.SubType != "" && e.SubType != "file_share" && e.SubType != "thread_broadcast" {
			return engine.Inbound{}, false
		}
		if e.BotID != "" {
			return engine.Inbound{}, false
		}
		user, text, channel, ts, threadTS, channelType = e.User, e.Text, e.Channel, e.TimeStamp, e.ThreadTimeStamp, e.ChannelType
	default:
		return engine.Inbound{}, false
	}
	if user == "" || user == botID || channel == "" || ts == "" {
		return engine.Inbound{}, false
	}
	direct := channelType == slackevents.ChannelTypeIM
	if botID != "" && strings.Contains(text, "<@"+botID) {
		mention = true
	}
	thread := threadTS
	if thread == "" && !direct {
		// In a channel every answer goes into a thread started at the
		// message, and the thread is the conversation.
		thread = ts
	}
	in := engine.Inbound{
		Channel:      c.name,
		MessageID:    channel + ":" + ts,
		Conversation: channel,
		Thread:       thread,
		Sender:       engine.Sender{ID: user, DisplayName: c.displayName(ctx, user)},
		Direct:       direct,
		Mentioned:    mention,
		Text:         cleanText(text, botID),
		ReceivedAt:   tsTime(ts, c.clock.Now()),
		Meta:         map[string]string{"channel_type": channelType, "ts": ts},
	}
	if strings.TrimSpace(in.Text) == "" {
		return engine.Inbound{}, false
	}
	return in, true
}

// handleSlash stores a slash command through the sink and returns the text
// to acknowledge it with ("" for a silent acknowledgement).
func (c *Channel) handleSlash(ctx context.Context, cmd slack.SlashCommand, sink engine.Sink) (string, error) {
	if cmd.Command != c.cfg.SlashCommand {
		c.log.Warn("unknown slash command", "command", cmd.Command)
		return "Sorry, I only answer " + c.cfg.SlashCommand + ".", nil
	}
	if cmd.UserID == "" || cmd.ChannelID == "" || cmd.TriggerID == "" {
		c.log.Warn("slash command without user, channel or trigger id dropped")
		return "Sorry, that command was incomplete.", nil
	}
	in := c.normalizeSlash(ctx, cmd)
	c.rememberSlash(in.MessageID, cmd)
	if c.seen.Contains(in.MessageID) {
		return "", nil
	}
	c.health.Inbound()
	if _, err := sink.Accept(ctx, in); err != nil {
		return "Sorry, I could not take that command right now; please try again in a moment.", fmt.Errorf("accept %s: %w", in.MessageID, err)
	}
	c.seen.Add(in.MessageID)
	return "", nil
}

// slashWords are single-word slash arguments that map to engine commands.
var slashWords = map[string]bool{"new": true, "stop": true, "status": true, "help": true}

func (c *Channel) normalizeSlash(ctx context.Context, cmd slack.SlashCommand) engine.Inbound {
	text := strings.TrimSpace(cmd.Text)
	if slashWords[strings.ToLower(text)] {
		text = "/" + strings.ToLower(text)
	}
	if text == "" {
		text = "/help"
	}
	direct := strings.HasPrefix(cmd.ChannelID, "D") || cmd.ChannelName == "directmessage"
	name := c.displayName(ctx, cmd.UserID)
	if name == "" {
		name = cmd.UserName
	}
	return engine.Inbound{
		Channel:      c.name,
		MessageID:    "cmd:" + cmd.TriggerID,
		Conversation: cmd.ChannelID,
		Sender:       engine.Sender{ID: cmd.UserID, DisplayName: name},
		Direct:       direct,
		Mentioned:    true,
		Text:         unescape(text),
		ReceivedAt:   c.clock.Now(),
		Meta: map[string]string{
			"source":        "slash_command",
			"command":       cmd.Command,
			"response_url":  cmd.ResponseURL,
			"response_type": c.cfg.SlashVisibility,
			"team_id":       cmd.TeamID,
			"user":          cmd.UserID,
		},
	}
}

func (c *Channel) rememberSlash(id string, cmd slack.SlashCommand) {
	now := c.clock.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if now.Sub(c.swept) > time.Minute {
		c.swept = now
		for k, t := range c.slash {
			if now.After(t.expires) {
				delete(c.slash, k)
			}
		}
	}
	if _, ok := c.slash[id]; ok {
		return
	}
	c.slash[id] = &slashTarget{
		responseURL: cmd.ResponseURL, responseType: c.cfg.SlashVisibility,
		channel: cmd.ChannelID, user: cmd.UserID, expires: now.Add(slashTTL),
	}
}

// displayName looks a user's name up (users.info, at most a second, so the
// acknowledgement stays within Slack's 3 seconds), cached; "" on failure.
func (c *Channel) displayName(ctx context.Context, user string) string {
	now := c.clock.Now()
	c.mu.Lock()
	if u, ok := c.users[user]; ok && now.Sub(u.at) < userCacheTTL {
		c.mu.Unlock()
		return u.name
	}
	c.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	info, err := c.api.GetUserInfoContext(ctx, user)
	name := ""
	if err != nil {
		c.log.Debug("users.info failed", "user", user, "err", err)
	} else {
		name = info.Profile.DisplayName
		if name == "" {
			name = info.RealName
		}
	}
	c.mu.Lock()
	if len(c.users) >= userCacheMax {
		clear(c.users)
	}
	c.users[user] = userName{name: name, at: now}
	c.mu.Unlock()
	return name
}

// cleanText removes the bot's leading mention and Slack's escaping.
func cleanText(text, botID string) string {
	if botID != "" {
		t := strings.TrimSpace(text)
		if strings.HasPrefix(t, "<@"+botID) {
			if end := strings.IndexByte(t, '>'); end > 0 {
				text = strings.TrimLeft(t[end+1:], " ,:")
			}
		}
	}
	return unescape(text)
}

var unescaper = strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&")

func unescape(s string) string { return unescaper.Replace(s) }

// tsTime reads a Slack ts ("1767225600.000100") as a time.
func tsTime(ts string, fallback time.Time) time.Time {
	sec, frac, _ := strings.Cut(ts, ".")
	s, err := strconv.ParseInt(sec, 10, 64)
	if err != nil {
		return fallback
	}
	us, _ := strconv.ParseInt((frac + "000000")[:6], 10, 64)
	return time.Unix(s, us*1000).UTC()
}
