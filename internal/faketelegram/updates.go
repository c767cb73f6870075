package faketelegram

import (
	"strings"
	"time"
	"unicode"
)

// User is a Telegram user as updates carry it.
type User struct {
	ID        int64
	FirstName string
	LastName  string
	Username  string
	IsBot     bool
}

func (u User) json() map[string]any {
	m := map[string]any{"id": u.ID, "is_bot": u.IsBot, "first_name": u.FirstName}
	if u.LastName != "" {
		m["last_name"] = u.LastName
	}
	if u.Username != "" {
		m["username"] = u.Username
	}
	return m
}

// Doc is a document attached to a message.
type Doc struct {
	FileID   string
	Name     string
	MIMEType string
	Size     int
}

// Msg builds a message update in the documented shape. Entities for
// @mentions and /commands in Text (or Caption) are computed as Telegram does.
type Msg struct {
	ChatID int64
	// ChatType is private, group or supergroup (default: private for a
	// positive ChatID, supergroup otherwise).
	ChatType  string
	ChatTitle string
	IsForum   bool
	From      User
	ID        int
	Text      string
	Caption   string
	// ThreadID with Topic set is a forum topic message.
	ThreadID int
	Topic    bool
	// ReplyToID and ReplyToFrom make this a reply.
	ReplyToID   int
	ReplyToFrom User
	PhotoID     string
	Document    *Doc
	VoiceID     string
	VoiceSecs   int
	// Edited turns the update into edited_message.
	Edited bool
	Date   int64
}

// Update returns the update object (without update_id; AddUpdate sets it).
func (m Msg) Update() map[string]any {
	chatType := m.ChatType
	if chatType == "" {
		chatType = "private"
		if m.ChatID < 0 {
			chatType = "supergroup"
		}
	}
	chat := map[string]any{"id": m.ChatID, "type": chatType}
	if m.ChatTitle != "" {
		chat["title"] = m.ChatTitle
	}
	if m.IsForum {
		chat["is_forum"] = true
	}
	date := m.Date
	if date == 0 {
		date = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC).Unix()
	}
	msg := map[string]any{"message_id": m.ID, "date": date, "chat": chat, "from": m.From.json()}
	if m.Text != "" {
		msg["text"] = m.Text
		if e := entities(m.Text); len(e) > 0 {
			msg["entities"] = e
		}
	}
	if m.Caption != "" {
		msg["caption"] = m.Caption
		if e := entities(m.Caption); len(e) > 0 {
			msg["caption_entities"] = e
		}
	}
	if m.ThreadID != 0 {
		msg["message_thread_id"] = m.ThreadID
	}
	if m.Topic {
		msg["is_topic_message"] = true
	}
	if m.ReplyToID != 0 {
		msg["reply_to_message"] = map[string]any{
			"message_id": m.ReplyToID, "date": date, "chat": chat, "from": m.ReplyToFrom.json(), "text": "earlier",
		}
	}
	if m.PhotoID != "" {
		msg["photo"] = []map[string]any{
			{"file_id": m.PhotoID + "-small", "file_unique_id": "s" + m.PhotoID, "width": 90, "height": 60, "file_size": 1000},
			{"file_id": m.PhotoID, "file_unique_id": "l" + m.PhotoID, "width": 1280, "height": 853, "file_size": 90000},
		}
	}
	if d := m.Document; d != nil {
		msg["document"] = map[string]any{"file_id": d.FileID, "file_unique_id": "u" + d.FileID, "file_name": d.Name, "mime_type": d.MIMEType, "file_size": d.Size}
	}
	if m.VoiceID != "" {
		msg["voice"] = map[string]any{"file_id": m.VoiceID, "file_unique_id": "u" + m.VoiceID, "duration": m.VoiceSecs, "mime_type": "audio/ogg"}
	}
	if m.Edited {
		msg["edit_date"] = date + 60
		return map[string]any{"edited_message": msg}
	}
	return map[string]any{"message": msg}
}

// entities finds @mentions and /commands like Telegram's parser, with
// offsets and lengths in UTF-16 code units.
func entities(text string) []map[string]any {
	var out []map[string]any
	rs := []rune(text)
	unitOffset := func(i int) int { return utf16Len(string(rs[:i])) }
	for i := 0; i < len(rs); i++ {
		if (rs[i] != '@' && rs[i] != '/') || (i > 0 && !unicode.IsSpace(rs[i-1])) {
			continue
		}
		j := i + 1
		for j < len(rs) && (unicode.IsLetter(rs[j]) || unicode.IsDigit(rs[j]) || rs[j] == '_' || (rs[i] == '/' && rs[j] == '@')) {
			j++
		}
		if j-i < 2 {
			continue
		}
		typ := "mention"
		if rs[i] == '/' {
			if i != 0 {
				continue
			}
			typ = "bot_command"
		}
		word := string(rs[i:j])
		if typ == "mention" && strings.Contains(word[1:], "@") {
			continue
		}
		out = append(out, map[string]any{"type": typ, "offset": unitOffset(i), "length": utf16Len(word)})
		i = j - 1
	}
	return out
}
