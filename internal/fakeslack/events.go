package fakeslack

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Message returns a message event in a public channel.
func Message(channel, user, text, ts string) map[string]any {
	return map[string]any{"type": "message", "channel": channel, "user": user, "text": text, "ts": ts, "event_ts": ts, "channel_type": "channel"}
}

// DirectMessage returns a message event in a DM with the app.
func DirectMessage(channel, user, text, ts string) map[string]any {
	ev := Message(channel, user, text, ts)
	ev["channel_type"] = "im"
	return ev
}

// AppMention returns an app_mention event.
func AppMention(channel, user, text, ts string) map[string]any {
	return map[string]any{"type": "app_mention", "channel": channel, "user": user, "text": text, "ts": ts, "event_ts": ts}
}

// InThread puts an event into the thread rooted at threadTS.
func InThread(ev map[string]any, threadTS string) map[string]any {
	ev["thread_ts"] = threadTS
	return ev
}

// Edited returns a message_changed event for a message.
func Edited(channel, user, text, ts string) map[string]any {
	return map[string]any{
		"type": "message", "subtype": "message_changed", "channel": channel, "channel_type": "im", "ts": ts + "1", "event_ts": ts + "1",
		"message":          map[string]any{"type": "message", "user": user, "text": text, "ts": ts, "edited": map[string]any{"user": user, "ts": ts + "1"}},
		"previous_message": map[string]any{"type": "message", "user": user, "text": "old", "ts": ts},
	}
}

// CallbackBody wraps an event into the Events API event_callback payload.
func (s *Server) CallbackBody(event map[string]any, eventID string) map[string]any {
	return map[string]any{
		"token": "verification-token-unused", "team_id": s.TeamID, "api_app_id": "A0APP",
		"event": event, "type": "event_callback", "event_id": eventID, "event_time": 1767225600,
		"authorizations": []map[string]any{{"team_id": s.TeamID, "user_id": s.BotUserID, "is_bot": true}},
	}
}

// SlashCommand is a slash command invocation.
type SlashCommand struct {
	Command     string // default /hearth
	Text        string
	ChannelID   string
	ChannelName string
	UserID      string
	UserName    string
	TriggerID   string
	// ResponseID picks the response_url (/response/<ResponseID>).
	ResponseID string
}

func (c SlashCommand) fields(s *Server) map[string]string {
	cmd := c.Command
	if cmd == "" {
		cmd = "/hearth"
	}
	return map[string]string{
		"token": "verification-token-unused", "team_id": s.TeamID, "team_domain": "hearth-test",
		"channel_id": c.ChannelID, "channel_name": c.ChannelName, "user_id": c.UserID, "user_name": c.UserName,
		"command": cmd, "text": c.Text, "api_app_id": "A0APP", "is_enterprise_install": "false",
		"response_url": s.ResponseURL(c.ResponseID), "trigger_id": c.TriggerID,
	}
}

// Form returns the slash command as the form Slack posts in HTTP mode.
func (c SlashCommand) Form(s *Server) url.Values {
	v := url.Values{}
	for k, f := range c.fields(s) {
		v.Set(k, f)
	}
	return v
}

// Sign computes Slack's v0 request signature.
func Sign(secret string, ts time.Time, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "v0:%d:", ts.Unix())
	mac.Write(body)
	return "v0=" + hex.EncodeToString(mac.Sum(nil))
}

// Request is a signed HTTP-mode request to the app.
type Request struct {
	URL         string
	ContentType string
	Body        []byte
	// Timestamp defaults to now; Signature defaults to a valid one made
	// with Secret (default: the server's signing secret).
	Timestamp time.Time
	Signature string
	Secret    string
	// RetryNum sets X-Slack-Retry-Num (Slack's retries).
	RetryNum int
}

// Post sends a signed request as Slack would and returns the status and
// body of the answer.
func (s *Server) Post(ctx context.Context, r Request) (int, string, error) {
	ts := r.Timestamp
	if ts.IsZero() {
		ts = time.Now()
	}
	secret := r.Secret
	if secret == "" {
		secret = s.SigningSecret
	}
	sig := r.Signature
	if sig == "" {
		sig = Sign(secret, ts, r.Body)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.URL, bytes.NewReader(r.Body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", r.ContentType)
	req.Header.Set("X-Slack-Request-Timestamp", strconv.FormatInt(ts.Unix(), 10))
	req.Header.Set("X-Slack-Signature", sig)
	if r.RetryNum > 0 {
		req.Header.Set("X-Slack-Retry-Num", strconv.Itoa(r.RetryNum))
		req.Header.Set("X-Slack-Retry-Reason", "http_timeout")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), nil
}

// EventRequest builds the HTTP-mode request for an event.
func (s *Server) EventRequest(url string, event map[string]any, eventID string) Request {
	body, _ := json.Marshal(s.CallbackBody(event, eventID))
	return Request{URL: url, ContentType: "application/json", Body: body}
}

// CommandRequest builds the HTTP-mode request for a slash command.
func (s *Server) CommandRequest(url string, cmd SlashCommand) Request {
	return Request{URL: url, ContentType: "application/x-www-form-urlencoded", Body: []byte(cmd.Form(s).Encode())}
}
