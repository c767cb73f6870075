package telegram

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"

	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/engine/channelkit"
)

// Send delivers a reply, notice or the first text of a streamed answer;
// typing events show "typing…"; status lines are not shown on Telegram.
func (c *Channel) Send(ctx context.Context, msg engine.Outbound) (engine.SentMessage, error) {
	switch msg.Kind {
	case engine.KindTyping:
		return engine.SentMessage{}, c.Typing(ctx, msg.To)
	case engine.KindStatus:
		return engine.SentMessage{}, nil
	}
	if strings.TrimSpace(msg.Text) == "" {
		return engine.SentMessage{}, errors.New("telegram: nothing to send (empty text)")
	}
	chunks := splitMarkdown(msg.Text)
	replyTo := replyToID(msg.To.ReplyTo)
	var ids []string
	for i, chunk := range chunks {
		r := 0
		if i == 0 {
			r = replyTo
		}
		id, err := c.sendChunk(ctx, msg.To, chunk, r)
		if err != nil {
			if i == 0 {
				return engine.SentMessage{}, err
			}
			return engine.SentMessage{ID: msg.To.Conversation + ":" + ids[0]}, fmt.Errorf("telegram: part %d of %d: %w", i+1, len(chunks), err)
		}
		ids = append(ids, strconv.Itoa(id))
	}
	sent := engine.SentMessage{ID: msg.To.Conversation + ":" + ids[0]}
	if msg.Kind == engine.KindDelta && !msg.Final {
		c.streams.Begin(sent.ID, ids, chunks)
	}
	return sent, nil
}

// Edit replaces a streamed answer's text. Non-final edits closer together
// than EditInterval are skipped (the next one carries all the text); the
// final edit always goes out. Text that outgrows one message continues in
// new messages.
func (c *Channel) Edit(ctx context.Context, sent engine.SentMessage, msg engine.Outbound) error {
	final := msg.Final || msg.Kind == engine.KindReply || msg.Kind == engine.KindNotice
	conv, first, ok := strings.Cut(sent.ID, ":")
	if _, err := strconv.Atoi(first); !ok || err != nil {
		return fmt.Errorf("telegram: cannot edit %q: not a message this channel sent", sent.ID)
	}
	if strings.TrimSpace(msg.Text) == "" {
		return nil
	}
	to := msg.To
	to.Conversation = conv
	ops := channelkit.EditOps{
		Post: func(ctx context.Context, chunk string) (string, error) {
			id, err := c.sendChunk(ctx, to, chunk, 0)
			return strconv.Itoa(id), err
		},
		Edit: func(ctx context.Context, id, chunk string) error {
			n, _ := strconv.Atoi(id)
			return c.editChunk(ctx, to, n, chunk)
		},
	}
	return c.streams.Update(ctx, sent.ID, first, splitMarkdown(msg.Text), final, ops)
}

// Typing shows "typing…" in the conversation (Telegram shows it for about
// five seconds).
func (c *Channel) Typing(ctx context.Context, to engine.Address) error {
	chat, err := chatID(to.Conversation)
	if err != nil {
		return err
	}
	_, err = c.api.SendChatAction(ctx, &bot.SendChatActionParams{
		ChatID: chat, MessageThreadID: threadID(to.Thread), Action: models.ChatActionTyping,
	})
	if err != nil {
		return fmt.Errorf("telegram: sendChatAction: %w", err)
	}
	return nil
}

// sendChunk posts one chunk as HTML, paced for its chat and retried on 429
// and 5xx; if Telegram still rejects the formatting it resends the chunk
// as plain text.
func (c *Channel) sendChunk(ctx context.Context, to engine.Address, md string, replyTo int) (int, error) {
	chat, err := chatID(to.Conversation)
	if err != nil {
		return 0, err
	}
	params := &bot.SendMessageParams{
		ChatID:          chat,
		MessageThreadID: threadID(to.Thread),
		Text:            RenderHTML(md),
		ParseMode:       models.ParseModeHTML,
	}
	if replyTo != 0 {
		params.ReplyParameters = &models.ReplyParameters{MessageID: replyTo, AllowSendingWithoutReply: true}
	}
	var sent *models.Message
	send := func(ctx context.Context) error {
		m, err := c.api.SendMessage(ctx, params)
		sent = m
		return classify(err)
	}
	err = c.pacer.Do(ctx, to.Conversation, send)
	if isEntityError(err) {
		c.log.Warn("telegram rejected the formatting; sending plain text", "chat", to.Conversation, "err", err)
		params.Text, params.ParseMode = md, ""
		err = c.pacer.Do(ctx, to.Conversation, send)
	}
	if err != nil {
		c.health.Error(err)
		return 0, fmt.Errorf("telegram: sendMessage: %w", err)
	}
	c.health.Outbound()
	return sent.ID, nil
}

func (c *Channel) editChunk(ctx context.Context, to engine.Address, id int, md string) error {
	chat, err := chatID(to.Conversation)
	if err != nil {
		return err
	}
	params := &bot.EditMessageTextParams{ChatID: chat, MessageID: id, Text: RenderHTML(md), ParseMode: models.ParseModeHTML}
	edit := func(ctx context.Context) error {
		_, err := c.api.EditMessageText(ctx, params)
		if isNotModified(err) {
			return nil
		}
		return classify(err)
	}
	err = c.pacer.Do(ctx, to.Conversation, edit)
	if isEntityError(err) {
		params.Text, params.ParseMode = md, ""
		err = c.pacer.Do(ctx, to.Conversation, edit)
	}
	if err != nil {
		c.health.Error(err)
		return fmt.Errorf("telegram: editMessageText: %w", err)
	}
	c.health.Outbound()
	return nil
}

// chatID parses a conversation: a numeric chat id, or @channelusername.
func chatID(conv string) (any, error) {
	if n, err := strconv.ParseInt(conv, 10, 64); err == nil {
		return n, nil
	}
	if strings.HasPrefix(conv, "@") && len(conv) > 1 {
		return conv, nil
	}
	return nil, fmt.Errorf("telegram: %q is not a chat id", conv)
}

func threadID(thread string) int {
	n, _ := strconv.Atoi(thread)
	return n
}

// replyToID reads the message id out of an Inbound.MessageID ("chat:msg").
func replyToID(s string) int {
	if _, id, ok := strings.Cut(s, ":"); ok {
		s = id
	}
	n, _ := strconv.Atoi(s)
	return n
}
