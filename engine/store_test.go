package engine

import (
	"strings"
	"testing"
)

func TestStoredInboundPrepare(t *testing.T) {
	cases := []struct {
		name   string
		m      StoredInbound
		err    string
		status InboxStatus
	}{
		{"defaults", StoredInbound{Inbound: Inbound{Channel: "c", MessageID: "1", Meta: map[string]string{}}}, "", InboxPending},
		{"kept status", StoredInbound{Inbound: Inbound{Channel: "c", MessageID: "1"}, Status: InboxDone}, "", InboxDone},
		{"no channel", StoredInbound{Inbound: Inbound{MessageID: "1"}}, "channel and message id are required", ""},
		{"no id", StoredInbound{Inbound: Inbound{Channel: "c"}}, "channel and message id are required", ""},
		{"bad status", StoredInbound{Inbound: Inbound{Channel: "c", MessageID: "1"}, Status: "lost"}, `invalid status "lost"`, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.m.Prepare()
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err %v, want %q", err, c.err)
				}
				return
			}
			if err != nil || c.m.Status != c.status || c.m.Inbound.Meta != nil || c.m.Inbound.Attachments != nil {
				t.Fatalf("err %v, prepared %+v", err, c.m)
			}
		})
	}
}
