package faketelegram

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// maxMessageLen is Telegram's limit on a message's text after entity
// parsing, in UTF-16 code units.
const maxMessageLen = 4096

func (s *Server) handle(method string, p map[string]string) (any, int, string) {
	switch method {
	case "getMe":
		return map[string]any{"id": s.Bot.ID, "is_bot": true, "first_name": "Hearth", "username": s.Bot.Username}, http.StatusOK, ""
	case "sendMessage":
		return s.sendMessage(p)
	case "editMessageText":
		return s.editMessageText(p)
	case "sendChatAction":
		if p["chat_id"] == "" || p["action"] == "" {
			return nil, http.StatusBadRequest, "Bad Request: chat_id and action are required"
		}
		return true, http.StatusOK, ""
	case "setMyCommands":
		var cmds []struct {
			Command     string `json:"command"`
			Description string `json:"description"`
		}
		if err := json.Unmarshal([]byte(p["commands"]), &cmds); err != nil || len(cmds) == 0 {
			return nil, http.StatusBadRequest, "Bad Request: can't parse commands"
		}
		for _, c := range cmds {
			if c.Command == "" || strings.HasPrefix(c.Command, "/") || c.Description == "" {
				return nil, http.StatusBadRequest, "Bad Request: BOT_COMMAND_INVALID"
			}
		}
		return true, http.StatusOK, ""
	case "deleteWebhook":
		s.mu.Lock()
		s.webhookURL, s.webhookSec = "", ""
		s.mu.Unlock()
		return true, http.StatusOK, ""
	case "setWebhook":
		if p["url"] == "" {
			return nil, http.StatusBadRequest, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"
		}
		s.mu.Lock()
		s.webhookURL, s.webhookSec = p["url"], p["secret_token"]
		s.mu.Unlock()
		return true, http.StatusOK, ""
	case "getWebhookInfo":
		s.mu.Lock()
		defer s.mu.Unlock()
		return map[string]any{"url": s.webhookURL, "has_custom_certificate": false, "pending_update_count": len(s.pending)}, http.StatusOK, ""
	case "getFile":
		s.mu.Lock()
		f, ok := s.files[p["file_id"]]
		s.mu.Unlock()
		if !ok {
			return nil, http.StatusBadRequest, "Bad Request: invalid file_id"
		}
		return map[string]any{"file_id": p["file_id"], "file_unique_id": "u" + p["file_id"], "file_size": len(f.data), "file_path": f.path}, http.StatusOK, ""
	}
	return nil, http.StatusNotFound, "Not Found"
}

func (s *Server) sendMessage(p map[string]string) (any, int, string) {
	chat := p["chat_id"]
	if chat == "" {
		return nil, http.StatusBadRequest, "Bad Request: chat_id is empty"
	}
	visible, code, desc := checkText(p)
	if code != http.StatusOK {
		return nil, code, desc
	}
	if rp := p["reply_parameters"]; rp != "" {
		var v struct {
			MessageID int `json:"message_id"`
		}
		if err := json.Unmarshal([]byte(rp), &v); err != nil || v.MessageID == 0 {
			return nil, http.StatusBadRequest, "Bad Request: can't parse reply parameters JSON object"
		}
	}
	s.mu.Lock()
	s.nextMsg++
	id := s.nextMsg
	s.messages[chat+":"+strconv.Itoa(id)] = &sentMessage{text: p["text"], parseMode: p["parse_mode"]}
	s.mu.Unlock()
	return messageJSON(chat, id, visible, p["message_thread_id"]), http.StatusOK, ""
}

func (s *Server) editMessageText(p map[string]string) (any, int, string) {
	chat := p["chat_id"]
	id, _ := strconv.Atoi(p["message_id"])
	visible, code, desc := checkText(p)
	if code != http.StatusOK {
		return nil, code, desc
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.messages[chat+":"+strconv.Itoa(id)]
	if !ok {
		return nil, http.StatusBadRequest, "Bad Request: message to edit not found"
	}
	if m.text == p["text"] && m.parseMode == p["parse_mode"] {
		return nil, http.StatusBadRequest, "Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message"
	}
	m.text, m.parseMode = p["text"], p["parse_mode"]
	return messageJSON(chat, id, visible, ""), http.StatusOK, ""
}

// checkText validates text and parse_mode as Telegram does and returns the
// visible text.
func checkText(p map[string]string) (string, int, string) {
	text := p["text"]
	visible := text
	switch p["parse_mode"] {
	case "":
	case "HTML":
		v, err := ParseHTML(text)
		if err != nil {
			return "", http.StatusBadRequest, "Bad Request: can't parse entities: " + err.Error()
		}
		visible = v
	default:
		return "", http.StatusBadRequest, "Bad Request: unsupported parse_mode " + p["parse_mode"]
	}
	if strings.TrimSpace(visible) == "" {
		return "", http.StatusBadRequest, "Bad Request: message text is empty"
	}
	if utf16Len(visible) > maxMessageLen {
		return "", http.StatusBadRequest, "Bad Request: message is too long"
	}
	return visible, http.StatusOK, ""
}

func messageJSON(chat string, id int, text, thread string) map[string]any {
	chatID, _ := strconv.ParseInt(chat, 10, 64)
	typ := "private"
	if chatID < 0 {
		typ = "supergroup"
	}
	m := map[string]any{
		"message_id": id,
		"date":       time.Now().Unix(),
		"chat":       map[string]any{"id": chatID, "type": typ},
		"from":       map[string]any{"id": 7000001, "is_bot": true, "first_name": "Hearth"},
		"text":       text,
	}
	if thread != "" {
		m["message_thread_id"], _ = strconv.Atoi(thread)
	}
	return m
}
