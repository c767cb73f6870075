package storetest

import (
	"testing"
	"time"

	"github.com/hearthbot/hearth/engine"
)

func testOutbox(t *testing.T, h Harness) {
	ctx := t.Context()
	s := setup(t, h)
	in := mustSave(t, s, inbound("telegram", "77", "u1", "s1", "hi"))
	notice := engine.Outbound{
		Kind: engine.KindNotice, To: engine.Address{Channel: "telegram", Conversation: "9", Thread: "t", ReplyTo: "77"},
		Text: "Your pairing code is ABCD2345", Meta: map[string]string{"parse_mode": "HTML"},
	}
	n1, err := s.EnqueueOutbound(ctx, notice)
	must(t, "EnqueueOutbound notice", err)
	answer := engine.Outbound{Kind: engine.KindReply, To: in.Inbound.ReplyAddress(), Text: "hello", Final: true, InboundID: in.ID}
	n2, err := s.EnqueueOutbound(ctx, answer)
	must(t, "EnqueueOutbound reply", err)
	n3, err := s.EnqueueOutbound(ctx, engine.Outbound{Kind: engine.KindNotice, To: answer.To, Text: "error", Error: true, InboundID: in.ID})
	must(t, "EnqueueOutbound error notice", err)
	if n1 <= 0 || n2 <= n1 || n3 <= n2 {
		t.Fatalf("outbox ids %d, %d, %d: want positive and increasing", n1, n2, n3)
	}

	pending, err := s.PendingOutbound(ctx)
	must(t, "PendingOutbound", err)
	if want := []int64{n1, n2, n3}; !equalIDs(outboundIDs(pending), want) {
		t.Fatalf("PendingOutbound = %v, want %v", outboundIDs(pending), want)
	}
	checkOutbound(t, pending[0], notice)
	checkOutbound(t, pending[1], answer)

	must(t, "MarkDelivered", s.MarkDelivered(ctx, n2, at(time.Minute)))
	must(t, "MarkDelivered again", s.MarkDelivered(ctx, n2, at(2*time.Minute)))
	must(t, "MarkDelivered zero time", s.MarkDelivered(ctx, n1, time.Time{}))
	wantErr(t, "MarkDelivered unknown", s.MarkDelivered(ctx, 987654321, at(time.Minute)), engine.ErrNotFound)

	pending, err = s.PendingOutbound(ctx)
	must(t, "PendingOutbound after delivery", err)
	if want := []int64{n3}; !equalIDs(outboundIDs(pending), want) {
		t.Errorf("PendingOutbound after delivery = %v, want %v", outboundIDs(pending), want)
	}
	// Delivered or not, replies stay listed.
	replies, err := s.RepliesTo(ctx, in.ID)
	must(t, "RepliesTo", err)
	if want := []int64{n2, n3}; !equalIDs(outboundIDs(replies), want) {
		t.Errorf("RepliesTo = %v, want %v", outboundIDs(replies), want)
	}
	replies, err = s.RepliesTo(ctx, 987654321)
	must(t, "RepliesTo unknown", err)
	if len(replies) != 0 {
		t.Errorf("RepliesTo unknown = %v", outboundIDs(replies))
	}

	_, err = s.EnqueueOutbound(ctx, engine.Outbound{Kind: engine.KindReply, To: answer.To, InboundID: 987654321})
	wantErr(t, "EnqueueOutbound for an unknown inbound", err, engine.ErrNotFound)
	if _, err := s.EnqueueOutbound(ctx, engine.Outbound{Kind: engine.KindReply, Text: "nowhere"}); err == nil {
		t.Error("EnqueueOutbound without channel: no error")
	}
	if _, err := s.EnqueueOutbound(ctx, engine.Outbound{Kind: engine.OutboundKind(99), To: answer.To}); err == nil {
		t.Error("EnqueueOutbound of an unknown kind: no error")
	}
	pending, err = s.PendingOutbound(ctx)
	must(t, "PendingOutbound after rejects", err)
	if len(pending) != 1 {
		t.Errorf("rejected messages were queued: %v", outboundIDs(pending))
	}
}

func testAudit(t *testing.T, h Harness) {
	ctx := t.Context()
	s := newStore(t, h)
	entries := []engine.AuditEntry{
		{Time: at(0), Kind: "tool", UserID: "u1", SessionID: "s1", Tool: "time", Input: `{}`, Output: "10:30",
			Outcome: "ok", Duration: 1500 * time.Microsecond, Bytes: 5},
		{Time: at(time.Minute), Kind: "safety", UserID: "u1", Outcome: "blocked", Detail: "injection", Tool: "web_fetch"},
		{Time: at(2 * time.Minute), Kind: "tool", UserID: "u2", SessionID: "s2", Tool: "echo", Outcome: "error",
			Error: "boom", Duration: time.Second},
		{Time: at(3 * time.Minute), Kind: "tool", UserID: "u1", Tool: "echo", Outcome: "ok"},
		{Time: at(4 * time.Minute), Kind: "pairing", Outcome: "ok", Detail: "approved ABCD2345"},
	}
	ids := make([]int64, len(entries))
	for i, e := range entries {
		id, err := s.RecordAudit(ctx, e)
		must(t, "RecordAudit", err)
		ids[i] = id
		entries[i].ID = id
	}
	seen := map[int64]bool{}
	for _, id := range ids {
		if id <= 0 || seen[id] {
			t.Fatalf("audit ids %v: want distinct positive ids", ids)
		}
		seen[id] = true
	}

	// want lists indexes into entries, newest first.
	cases := []struct {
		name string
		f    engine.AuditFilter
		want []int
	}{
		{"all", engine.AuditFilter{}, []int{4, 3, 2, 1, 0}},
		{"user", engine.AuditFilter{UserID: "u1"}, []int{3, 1, 0}},
		{"tool", engine.AuditFilter{Tool: "echo"}, []int{3, 2}},
		{"kind", engine.AuditFilter{Kind: "tool"}, []int{3, 2, 0}},
		{"since (inclusive)", engine.AuditFilter{Since: at(2 * time.Minute)}, []int{4, 3, 2}},
		{"limit", engine.AuditFilter{Limit: 2}, []int{4, 3}},
		{"combined", engine.AuditFilter{UserID: "u1", Kind: "tool", Since: at(time.Second), Limit: 5}, []int{3}},
		{"no match", engine.AuditFilter{UserID: "u3"}, nil},
	}
	for _, tc := range cases {
		got, err := s.ListAudit(ctx, tc.f)
		must(t, "ListAudit "+tc.name, err)
		if len(got) != len(tc.want) {
			t.Errorf("ListAudit %s: %d entries, want %d", tc.name, len(got), len(tc.want))
			continue
		}
		for i, idx := range tc.want {
			checkAudit(t, got[i], entries[idx])
		}
	}
	if _, err := s.ListAudit(ctx, engine.AuditFilter{Limit: -1}); err == nil {
		t.Error("ListAudit with a negative limit: no error")
	}

	id, err := s.RecordAudit(ctx, engine.AuditEntry{Kind: "tool", Tool: "now", Outcome: "ok"})
	must(t, "RecordAudit without time", err)
	got, err := s.ListAudit(ctx, engine.AuditFilter{Tool: "now"})
	must(t, "ListAudit now", err)
	if len(got) != 1 || got[0].ID != id {
		t.Fatalf("ListAudit(now) = %+v, want entry %d", got, id)
	}
	checkSet(t, "audit Time", got[0].Time)
}

func checkAudit(t *testing.T, got, want engine.AuditEntry) {
	t.Helper()
	checkTime(t, "audit Time", got.Time, want.Time)
	g := got
	g.Time = want.Time
	if g != want {
		t.Errorf("audit entry = %+v, want %+v", got, want)
	}
}
