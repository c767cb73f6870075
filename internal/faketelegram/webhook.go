package faketelegram

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
)

// DeliverWebhook posts update to url as Telegram delivers webhook updates,
// with the X-Telegram-Bot-Api-Secret-Token header set to secret (left out
// when secret is empty). It sets update_id when missing and returns the
// HTTP status the receiver answered.
func (s *Server) DeliverWebhook(ctx context.Context, url, secret string, update map[string]any) (int, error) {
	if _, ok := update["update_id"]; !ok {
		update["update_id"] = s.NextUpdateID()
	}
	body, err := json.Marshal(update)
	if err != nil {
		return 0, fmt.Errorf("marshal update: %w", err)
	}
	return s.DeliverRaw(ctx, url, secret, body)
}

// DeliverRaw posts body as a webhook update (for malformed payloads).
func (s *Server) DeliverRaw(ctx context.Context, url, secret string, body []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	if secret != "" {
		req.Header.Set("X-Telegram-Bot-Api-Secret-Token", secret)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	_ = resp.Body.Close()
	return resp.StatusCode, nil
}
