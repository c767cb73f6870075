package telegram

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"

	"github.com/hearthbot/hearth/engine"
)

// stream is an answer being streamed by edits: the messages it occupies
// (more than one once it outgrows 4096 characters) and what each shows.
type stream struct {
	mu       sync.Mutex
	to       engine.Address
	ids      []int
	chunks   []string // Markdown currently shown by each message
	lastEdit time.Time
	touched  time.Time
}

// streamTTL bounds how long an unfinished stream's state is kept.
const streamTTL = time.Hour

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
	st := &stream{to: msg.To}
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
			return engine.SentMessage{ID: messageKey(msg.To.Conversation, st.ids[0])}, fmt.Errorf("telegram: part %d of %d: %w", i+1, len(chunks), err)
		}
		st.ids = append(st.ids, id)
		st.chunks = append(st.chunks, chunk)
	}
	sent := engine.SentMessage{ID: messageKey(msg.To.Conversation, st.ids[0])}
	if msg.Kind == engine.KindDelta && !msg.Final {
		now := c.clock.Now()
		st.lastEdit, st.touched = now, now
		c.mu.Lock()
		c.sweepStreamsLocked(now)
		c.streams[sent.ID] = st
		c.mu.Unlock()
	}
	return sent, nil
}

// Edit replaces a streamed answer's text. Non-final edits closer together
// than EditInterval are skipped (the next one carries all the text); the
// final edit always goes out. Text that outgrows one message continues in
// new messages.
func (c *Channel) Edit(ctx context.Context, sent engine.SentMessage, msg engine.Outbound) error {
	final := msg.Final || msg.Kind == engine.KindReply || msg.Kind == engine.KindNotice
	st, err := c.streamFor(sent, msg.To)
	if err != nil {
		return err
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	now := c.clock.Now()
	st.touched = now
	if !final && now.Sub(st.lastEdit) < c.cfg.EditInterval {
		return nil
	}
	if strings.TrimSpace(msg.Text) == "" {
		return nil
	}
	for i, chunk := range splitMarkdown(msg.Text) {
		if i < len(st.ids) {
			if st.chunks[i] == chunk {
				continue
			}
			if err := c.editChunk(ctx, st.to, st.ids[i], chunk); err != nil {
				return err
			}
			st.chunks[i] = chunk
			continue
		}
		id, err := c.sendChunk(ctx, st.to, chunk, 0)
		if err != nil {
			return err
		}
		st.ids = append(st.ids, id)
		st.chunks = append(st.chunks, chunk)
	}
	st.lastEdit = c.clock.Now()
	if final {
		c.mu.Lock()
		delete(c.streams, sent.ID)
		c.mu.Unlock()
	}
	return nil
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

func (c *Channel) streamFor(sent engine.SentMessage, to engine.Address) (*stream, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, ok := c.streams[sent.ID]; ok {
		return st, nil
	}
	conv, id, ok := strings.Cut(sent.ID, ":")
	n, err := strconv.Atoi(id)
	if !ok || err != nil {
		return nil, fmt.Errorf("telegram: cannot edit %q: not a message this channel sent", sent.ID)
	}
	to.Conversation = conv
	// A message sent in one piece by Send: its text is unknown, so the
	// first edit always goes out.
	st := &stream{to: to, ids: []int{n}, chunks: []string{""}, touched: c.clock.Now()}
	c.streams[sent.ID] = st
	return st, nil
}

func (c *Channel) sweepStreamsLocked(now time.Time) {
	if now.Sub(c.lastSwep) < time.Minute {
		return
	}
	c.lastSwep = now
	for k, st := range c.streams {
		if st.mu.TryLock() {
			stale := now.Sub(st.touched) > streamTTL
			st.mu.Unlock()
			if stale {
				delete(c.streams, k)
			}
		}
	}
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

func messageKey(conv string, id int) string { return conv + ":" + strconv.Itoa(id) }
