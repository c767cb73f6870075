package telegram

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-telegram/bot"

	"github.com/hearthbot/hearth/engine/channelkit"
)

// statusTransport turns a 5xx answer (often a gateway's HTML page that
// go-telegram/bot could not decode) into a channelkit.RetryError.
type statusTransport struct{ base http.RoundTripper }

func (t statusTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 500 {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		_ = resp.Body.Close()
		return nil, &channelkit.RetryError{Status: resp.StatusCode, Err: fmt.Errorf("telegram answered %s", resp.Status)}
	}
	return resp, nil
}

func withStatusErrors(c *http.Client) *http.Client {
	cp := *c
	base := cp.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	cp.Transport = statusTransport{base: base}
	return &cp
}

// classify maps go-telegram/bot's 429 error to a channelkit.RetryError.
func classify(err error) error {
	if err == nil {
		return nil
	}
	var tm *bot.TooManyRequestsError
	if errors.As(err, &tm) {
		return &channelkit.RetryError{Status: http.StatusTooManyRequests, RetryAfter: time.Duration(tm.RetryAfter) * time.Second, Err: err}
	}
	return err
}

// isEntityError reports Telegram rejecting the formatting of a message.
func isEntityError(err error) bool {
	return errors.Is(err, bot.ErrorBadRequest) && strings.Contains(err.Error(), "can't parse entities")
}

// isNotModified reports an edit that changed nothing, which is success.
func isNotModified(err error) bool {
	return errors.Is(err, bot.ErrorBadRequest) && strings.Contains(err.Error(), "message is not modified")
}

// tokenError names the config key when Telegram rejects the token.
func tokenError(err error) error {
	return channelkit.Permanent(fmt.Errorf("channels.telegram.token: rejected by Telegram (%w); check the token from @BotFather", err))
}

// redact removes the token from a request error's URL.
func redact(err error, token string) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		ue.URL = strings.ReplaceAll(ue.URL, token, "***")
	}
	return err
}
