package telegram

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"

	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/engine/channelkit"
)

// normalize turns an update into an Inbound. It returns false for updates
// the channel does not answer: edits (the original was answered already),
// messages from bots (including itself), service messages.
func (c *Channel) normalize(ctx context.Context, upd *models.Update) (engine.Inbound, bool) {
	if upd.EditedMessage != nil {
		c.log.Debug("edited message ignored", "update_id", upd.ID, "chat", upd.EditedMessage.Chat.ID)
		return engine.Inbound{}, false
	}
	m := upd.Message
	if m == nil || m.From == nil || m.From.IsBot {
		return engine.Inbound{}, false
	}
	c.mu.Lock()
	me := c.me
	c.mu.Unlock()

	text, ents := m.Text, m.Entities
	if text == "" {
		text, ents = m.Caption, m.CaptionEntities
	}
	in := engine.Inbound{
		Channel:      c.name,
		MessageID:    messageID(m.Chat.ID, m.ID),
		Conversation: strconv.FormatInt(m.Chat.ID, 10),
		Sender: engine.Sender{
			ID:          strconv.FormatInt(m.From.ID, 10),
			DisplayName: displayName(m.From),
		},
		Direct:     m.Chat.Type == models.ChatTypePrivate,
		Mentioned:  mentioned(m, text, ents, me),
		Text:       cleanText(text, me.username),
		ReceivedAt: time.Unix(int64(m.Date), 0).UTC(),
		Meta: map[string]string{
			"chat_type":  string(m.Chat.Type),
			"message_id": strconv.Itoa(m.ID),
			"update_id":  strconv.FormatInt(upd.ID, 10),
		},
	}
	if m.Date == 0 {
		in.ReceivedAt = c.clock.Now()
	}
	if m.IsTopicMessage && m.MessageThreadID != 0 {
		in.Thread = strconv.Itoa(m.MessageThreadID)
	}
	if m.From.Username != "" {
		in.Meta["username"] = m.From.Username
	}
	if m.Chat.Title != "" {
		in.Meta["chat_title"] = m.Chat.Title
	}
	in.Attachments = c.attachments(ctx, m, in)
	if in.Text == "" && len(in.Attachments) == 0 {
		return engine.Inbound{}, false // a service message: joins, pins, ...
	}
	return in, true
}

func messageID(chat int64, msg int) string {
	return strconv.FormatInt(chat, 10) + ":" + strconv.Itoa(msg)
}

func displayName(u *models.User) string {
	name := strings.TrimSpace(u.FirstName + " " + u.LastName)
	if name == "" && u.Username != "" {
		name = "@" + u.Username
	}
	return name
}

// mentioned reports whether a message addresses the bot: an @username
// mention, a text mention of the bot, a /command@username, or a reply to
// one of the bot's messages. In a forum topic every message "replies" to
// the topic's first message; that is not a reply to the bot.
func mentioned(m *models.Message, text string, ents []models.MessageEntity, me botIdentity) bool {
	if r := m.ReplyToMessage; r != nil && r.From != nil && r.From.ID == me.id && me.id != 0 {
		if !(m.IsTopicMessage && r.ID == m.MessageThreadID) {
			return true
		}
	}
	if me.username == "" {
		return false
	}
	units := utf16.Encode([]rune(text))
	for _, e := range ents {
		if e.Offset < 0 || e.Length <= 0 || e.Offset+e.Length > len(units) {
			continue
		}
		word := string(utf16.Decode(units[e.Offset : e.Offset+e.Length]))
		switch e.Type {
		case models.MessageEntityTypeMention:
			if strings.EqualFold(word, "@"+me.username) {
				return true
			}
		case models.MessageEntityTypeTextMention:
			if e.User != nil && e.User.ID == me.id {
				return true
			}
		case models.MessageEntityTypeBotCommand:
			if _, at, ok := strings.Cut(word, "@"); ok && strings.EqualFold(at, me.username) {
				return true
			}
		}
	}
	return false
}

// cleanText removes the bot's own @username from commands (/help@bot ->
// /help) and from the start of the message.
func cleanText(text, username string) string {
	if username == "" {
		return text
	}
	at := "@" + username
	if strings.HasPrefix(text, "/") {
		cmd, rest, _ := strings.Cut(text, " ")
		if name, suffix, ok := strings.Cut(cmd, "@"); ok && strings.EqualFold(suffix, username) {
			text = strings.TrimSpace(name + " " + rest)
		}
	}
	if len(text) >= len(at) && strings.EqualFold(text[:len(at)], at) {
		text = strings.TrimLeft(text[len(at):], " ,:")
	}
	return text
}

// attachments downloads the message's photo, document or voice note,
// stores it, and describes it; failures are logged and the file is still
// described, so the message itself is never lost.
func (c *Channel) attachments(ctx context.Context, m *models.Message, in engine.Inbound) []engine.Attachment {
	type file struct {
		id   string
		kind string
		name string
		mime string
		size int64
	}
	var files []file
	if n := len(m.Photo); n > 0 {
		p := m.Photo[n-1] // the largest size comes last
		files = append(files, file{p.FileID, "photo", "photo.jpg", "image/jpeg", int64(p.FileSize)})
	}
	if d := m.Document; d != nil {
		files = append(files, file{d.FileID, "document", d.FileName, d.MimeType, d.FileSize})
	}
	if v := m.Voice; v != nil {
		mt := v.MimeType
		if mt == "" {
			mt = "audio/ogg"
		}
		files = append(files, file{v.FileID, "voice", fmt.Sprintf("voice-%ds.ogg", v.Duration), mt, v.FileSize})
	}
	var out []engine.Attachment
	for _, f := range files {
		att := engine.Attachment{Kind: f.kind, Name: f.name, MIMEType: f.mime, Size: f.size}
		meta := channelkit.AttachmentMeta{
			Channel: c.name, Conversation: in.Conversation, SenderID: in.Sender.ID, MessageID: in.MessageID,
			Kind: f.kind, Name: f.name, MIMEType: f.mime, Size: f.size,
		}
		if err := c.fetchAttachment(ctx, f.id, meta, &att); err != nil {
			c.log.Warn("attachment not stored; describing it only", "message_id", in.MessageID, "kind", f.kind, "err", err)
		}
		out = append(out, att)
	}
	return out
}

func (c *Channel) fetchAttachment(ctx context.Context, fileID string, meta channelkit.AttachmentMeta, att *engine.Attachment) error {
	wantText := meta.Kind == "document" && channelkit.IsTextLike(meta.Name, meta.MIMEType)
	if c.cfg.Attachments == nil && !wantText {
		return nil
	}
	if meta.Size > c.cfg.MaxAttachmentBytes {
		return fmt.Errorf("%d bytes is more than the %d allowed", meta.Size, c.cfg.MaxAttachmentBytes)
	}
	var data []byte
	err := channelkit.Retry(ctx, c.clock, *c.cfg.Retry, func(ctx context.Context) error {
		f, err := c.api.GetFile(ctx, &bot.GetFileParams{FileID: fileID})
		if err != nil {
			return classify(err)
		}
		data, err = c.download(ctx, f)
		return err
	})
	if err != nil {
		return err
	}
	att.Size = int64(len(data))
	if wantText {
		att.Text = channelkit.ExtractText(meta.Name, meta.MIMEType, data, c.cfg.MaxExtractBytes)
	}
	if c.cfg.Attachments != nil {
		meta.Size = att.Size
		path, err := c.cfg.Attachments.StoreAttachment(ctx, meta, bytes.NewReader(data))
		if err != nil {
			return fmt.Errorf("store: %w", err)
		}
		att.Path = path
	}
	return nil
}

func (c *Channel) download(ctx context.Context, f *models.File) ([]byte, error) {
	if f.FilePath == "" {
		return nil, fmt.Errorf("getFile returned no file_path")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.api.FileDownloadLink(f), nil)
	if err != nil {
		return nil, fmt.Errorf("download: %w", redact(err, c.cfg.Token))
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("download: %w", redact(err, c.cfg.Token))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("download: HTTP %d", resp.StatusCode)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, c.cfg.MaxAttachmentBytes+1))
	if err != nil {
		return nil, fmt.Errorf("download: %w", err)
	}
	if int64(len(data)) > c.cfg.MaxAttachmentBytes {
		return nil, fmt.Errorf("download: more than %d bytes", c.cfg.MaxAttachmentBytes)
	}
	return data, nil
}
