package fakeslack

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/slack-go/slack"
)

// TestSignMatchesSlackGo checks the fake signs requests the way slack-go's
// verifier (and Slack) expects.
func TestSignMatchesSlackGo(t *testing.T) {
	body := []byte(`{"type":"event_callback"}`)
	now := time.Now()
	h := http.Header{}
	h.Set("X-Slack-Request-Timestamp", strconv.FormatInt(now.Unix(), 10))
	h.Set("X-Slack-Signature", Sign("secret", now, body))
	sv, err := slack.NewSecretsVerifier(h, "secret")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = sv.Write(body)
	if err := sv.Ensure(); err != nil {
		t.Fatalf("signature rejected: %v", err)
	}
	h.Set("X-Slack-Signature", Sign("other", now, body))
	sv, _ = slack.NewSecretsVerifier(h, "secret")
	_, _ = sv.Write(body)
	if sv.Ensure() == nil {
		t.Fatal("wrong secret accepted")
	}
}
