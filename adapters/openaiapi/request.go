package openaiapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/hearthbot/hearth/engine/channelkit"
)

// maxConversationLen bounds a conversation name, in bytes.
const maxConversationLen = 256

// chatRequest is the part of a chat completion request the server reads;
// other parameters (temperature, max_tokens, tools, ...) are accepted and
// ignored: Hearth's own configuration and tools answer.
type chatRequest struct {
	Model         string           `json:"model"`
	Messages      []requestMessage `json:"messages"`
	Stream        bool             `json:"stream"`
	StreamOptions *streamOptions   `json:"stream_options"`
	User          string           `json:"user"`
	N             *int             `json:"n"`
}

type streamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

type requestMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

// contentPart is one element of an array content.
type contentPart struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// knownRoles are the roles of OpenAI's chat format.
var knownRoles = map[string]bool{
	"system": true, "developer": true, "user": true, "assistant": true, "tool": true, "function": true,
}

// parsedRequest is a validated request: the turn's input and options.
type parsedRequest struct {
	model        string
	text         string
	stream       bool
	includeUsage bool
	user         string
}

// checkContentType accepts JSON or no declared type.
func checkContentType(ct string) *fault {
	if err := channelkit.CheckJSONContentType(ct); err != nil {
		return badRequest("", err.Error())
	}
	return nil
}

// parseRequest decodes and validates a body, naming what is wrong.
func parseRequest(body []byte) (parsedRequest, *fault) {
	if len(bytes.TrimSpace(body)) == 0 {
		return parsedRequest{}, badRequest("", "empty body: want a JSON object")
	}
	// encoding/json would silently replace invalid UTF-8 with U+FFFD.
	if !utf8.Valid(body) {
		return parsedRequest{}, badRequest("", "body is not valid UTF-8")
	}
	var req chatRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&req); err != nil {
		return parsedRequest{}, jsonFault(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return parsedRequest{}, badRequest("", "malformed JSON: unexpected data after the object")
	}
	if strings.TrimSpace(req.Model) == "" {
		return parsedRequest{}, badRequest("model", "you must provide a model parameter")
	}
	if req.N != nil && *req.N != 1 {
		return parsedRequest{}, badRequest("n", fmt.Sprintf("n must be 1 (one answer per turn), got %d", *req.N))
	}
	if len(req.Messages) == 0 {
		return parsedRequest{}, badRequest("messages", "messages must contain at least one message")
	}
	last := -1
	for i, m := range req.Messages {
		if !knownRoles[m.Role] {
			return parsedRequest{}, badRequest(fmt.Sprintf("messages[%d].role", i), fmt.Sprintf("unknown role %q", m.Role))
		}
		if m.Role == "user" {
			last = i
		}
	}
	if last < 0 {
		return parsedRequest{}, badRequest("messages", `messages contain no message with role "user"`)
	}
	text, f := userText(req.Messages[last].Content, last)
	if f != nil {
		return parsedRequest{}, f
	}
	if strings.ContainsRune(text, 0) {
		return parsedRequest{}, badRequest(fmt.Sprintf("messages[%d].content", last), "the content contains a NUL character")
	}
	p := parsedRequest{model: req.Model, text: text, stream: req.Stream, user: req.User}
	p.includeUsage = req.Stream && req.StreamOptions != nil && req.StreamOptions.IncludeUsage
	return p, nil
}

// userText reads a user message's content: a string or an array of text
// parts (joined by newlines). Other parts are refused, not dropped.
func userText(raw json.RawMessage, idx int) (string, *fault) {
	param := fmt.Sprintf("messages[%d].content", idx)
	var text string
	switch t := bytes.TrimSpace(raw); {
	case len(t) == 0 || string(t) == "null":
		return "", badRequest(param, "the last user message has no content")
	case t[0] == '"':
		if err := json.Unmarshal(t, &text); err != nil {
			return "", badRequest(param, "content must be a string or an array of content parts")
		}
	case t[0] == '[':
		var parts []contentPart
		if err := json.Unmarshal(t, &parts); err != nil {
			return "", badRequest(param, "content must be a string or an array of content parts")
		}
		texts := make([]string, 0, len(parts))
		for j, p := range parts {
			if p.Type != "text" {
				return "", badRequest(fmt.Sprintf("%s[%d].type", param, j), fmt.Sprintf("only text content is supported, got a part of type %q", p.Type))
			}
			texts = append(texts, p.Text)
		}
		text = strings.Join(texts, "\n")
	default:
		return "", badRequest(param, "content must be a string or an array of content parts")
	}
	if strings.TrimSpace(text) == "" {
		return "", badRequest(param, "the last user message is empty")
	}
	return text, nil
}

// jsonFault rewrites a decoding error for the client.
func jsonFault(err error) *fault {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return badRequest("", fmt.Sprintf("malformed JSON at byte %d: %s", syntax.Offset, strings.TrimPrefix(syntax.Error(), "json: ")))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("", "malformed JSON: unexpected end of input")
	case errors.As(err, &typ):
		if typ.Field == "" {
			return badRequest("", fmt.Sprintf("body must be a JSON object, got %s", typ.Value))
		}
		return badRequest(typ.Field, fmt.Sprintf("%s must be a %s, got %s", typ.Field, typ.Type, typ.Value))
	}
	return badRequest("", "malformed JSON: "+strings.TrimPrefix(err.Error(), "json: "))
}

// conversationName checks a conversation name from a header or the
// "user" field; param names its source in errors.
func conversationName(v, param string) *fault {
	switch {
	case len(v) > maxConversationLen:
		return badRequest(param, fmt.Sprintf("%s is longer than %d bytes", param, maxConversationLen))
	case !utf8.ValidString(v):
		return badRequest(param, param+" is not valid UTF-8")
	case strings.IndexFunc(v, unicode.IsControl) >= 0:
		return badRequest(param, param+" contains control characters")
	}
	return nil
}
