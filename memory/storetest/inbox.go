package storetest

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/hearthbot/hearth/engine"
)

// checkInbound compares a stored message with what was saved.
func checkInbound(t *testing.T, got, want engine.StoredInbound) {
	t.Helper()
	checkTime(t, "inbound CreatedAt", got.CreatedAt, want.CreatedAt)
	checkTime(t, "inbound ReceivedAt", got.Inbound.ReceivedAt, want.Inbound.ReceivedAt)
	g, w := got, want
	g.CreatedAt, w.CreatedAt = time.Time{}, time.Time{}
	g.Inbound.ReceivedAt, w.Inbound.ReceivedAt = time.Time{}, time.Time{}
	if len(g.Inbound.Meta) == 0 && len(w.Inbound.Meta) == 0 {
		g.Inbound.Meta, w.Inbound.Meta = nil, nil
	}
	if len(g.Inbound.Attachments) == 0 && len(w.Inbound.Attachments) == 0 {
		g.Inbound.Attachments, w.Inbound.Attachments = nil, nil
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("inbound =\n%+v\nwant\n%+v", g, w)
	}
}

func inboundIDs(list []engine.StoredInbound) []int64 {
	out := make([]int64, len(list))
	for i, m := range list {
		out[i] = m.ID
	}
	return out
}

func equalIDs(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func testInbox(t *testing.T, h Harness) {
	ctx := t.Context()
	s := setup(t, h)
	full := engine.StoredInbound{
		Inbound: engine.Inbound{
			Channel: "telegram", MessageID: "1001", Conversation: "-100", Thread: "7",
			Sender: engine.Sender{ID: "42", DisplayName: "Ann"}, Direct: false, Mentioned: true,
			Text: "hello ☃ <b>&", Meta: map[string]string{"chat_type": "supergroup", "x": ""},
			Attachments: []engine.Attachment{{Kind: "photo", Name: "p.jpg", MIMEType: "image/jpeg",
				Size: 1234, Path: "attachments/p.jpg", Text: "a cat"}},
			ReceivedAt: at(time.Minute),
		},
		UserID: "u1", SessionID: "s1", Status: engine.InboxPending, CreatedAt: at(2 * time.Minute),
	}
	got, created, err := s.SaveInbound(ctx, full)
	must(t, "SaveInbound", err)
	if !created || got.ID <= 0 {
		t.Fatalf("SaveInbound = id %d, created %v; want a new id", got.ID, created)
	}
	want := full
	want.ID = got.ID
	checkInbound(t, got, want)
	stored, err := s.GetInbound(ctx, got.ID)
	must(t, "GetInbound", err)
	checkInbound(t, stored, want)

	// The same message id on another channel is another message.
	other := full
	other.Inbound.Channel = "slack"
	o := mustSave(t, s, other)
	if o.ID == got.ID {
		t.Errorf("a message on another channel got the same id %d", o.ID)
	}

	// A held message from an unknown sender: no user, no session.
	held := engine.StoredInbound{
		Inbound: engine.Inbound{Channel: "telegram", MessageID: "1002", Conversation: "9",
			Sender: engine.Sender{ID: "9"}, Direct: true, Text: "let me in"},
		Status: engine.InboxHeld,
	}
	h1 := mustSave(t, s, held)
	checkSet(t, "held CreatedAt", h1.CreatedAt)
	stored, err = s.GetInbound(ctx, h1.ID)
	must(t, "GetInbound held", err)
	if stored.Status != engine.InboxHeld || stored.UserID != "" || stored.SessionID != "" ||
		!stored.Inbound.ReceivedAt.IsZero() || stored.Inbound.Text != "let me in" {
		t.Errorf("held message = %+v", stored)
	}
	checkTime(t, "held CreatedAt", stored.CreatedAt, h1.CreatedAt)

	// Empty status means pending.
	plain := inbound("repl", "r1", "u1", "s1", "hi")
	plain.Status = ""
	p := mustSave(t, s, plain)
	if p.Status != engine.InboxPending {
		t.Errorf("status of a message saved without status = %q, want pending", p.Status)
	}

	_, err = s.GetInbound(ctx, 987654321)
	wantErr(t, "GetInbound unknown", err, engine.ErrNotFound)

	pending, err := s.PendingInbound(ctx)
	must(t, "PendingInbound", err)
	if want := []int64{got.ID, o.ID, p.ID}; !equalIDs(inboundIDs(pending), want) {
		t.Errorf("PendingInbound = %v, want %v", inboundIDs(pending), want)
	}
}

func testInboxDedupe(t *testing.T, h Harness) {
	ctx := t.Context()
	s := setup(t, h)
	first := mustSave(t, s, inbound("telegram", "500", "u1", "s1", "original"))
	again := inbound("telegram", "500", "u2", "s2", "redelivered with other text")
	again.Status = engine.InboxHeld
	got, created, err := s.SaveInbound(ctx, again)
	must(t, "SaveInbound duplicate", err)
	if created {
		t.Fatal("SaveInbound of a duplicate reported created")
	}
	checkInbound(t, got, first)

	// After the message is answered the duplicate still finds it, done.
	_, err = s.CompleteTurn(ctx, engine.TurnRecord{InboundID: first.ID, Status: engine.InboxDone})
	must(t, "CompleteTurn", err)
	got, created, err = s.SaveInbound(ctx, again)
	must(t, "SaveInbound duplicate after turn", err)
	if created || got.ID != first.ID || got.Status != engine.InboxDone {
		t.Errorf("duplicate after turn = id %d status %q created %v; want id %d done, not created",
			got.ID, got.Status, created, first.ID)
	}
	pending, err := s.PendingInbound(ctx)
	must(t, "PendingInbound", err)
	if len(pending) != 0 {
		t.Errorf("PendingInbound = %v, want none", inboundIDs(pending))
	}
}

func testInboxConcurrentDedupe(t *testing.T, h Harness) {
	ctx := t.Context()
	s := setup(t, h)
	const n = 16
	type result struct {
		m       engine.StoredInbound
		created bool
		err     error
	}
	results := make([]result, n)
	run(n, func(i int) {
		m, created, err := s.SaveInbound(ctx, inbound("telegram", "same", "u1", "s1", fmt.Sprintf("copy %d", i)))
		results[i] = result{m, created, err}
	})
	created := 0
	var id int64
	for i, r := range results {
		if r.err != nil {
			t.Fatalf("SaveInbound %d: %v", i, r.err)
		}
		if r.created {
			created++
			id = r.m.ID
		}
	}
	if created != 1 {
		t.Fatalf("%d concurrent saves of one message were inserts, want 1", created)
	}
	for i, r := range results {
		if r.m.ID != id {
			t.Errorf("save %d returned id %d, want %d", i, r.m.ID, id)
		}
	}
	pending, err := s.PendingInbound(ctx)
	must(t, "PendingInbound", err)
	if len(pending) != 1 {
		t.Errorf("PendingInbound has %d messages, want 1", len(pending))
	}
}

func testInboxReferences(t *testing.T, h Harness) {
	ctx := t.Context()
	s := setup(t, h)
	bad := []struct {
		name string
		m    engine.StoredInbound
		ref  bool // ErrNotFound expected
	}{
		{"unknown user", inbound("telegram", "1", "ghost", "", "x"), true},
		{"unknown session", inbound("telegram", "2", "u1", "ghost", "x"), true},
		{"no channel", inbound("", "3", "u1", "s1", "x"), false},
		{"no message id", inbound("telegram", "", "u1", "s1", "x"), false},
		{"bad status", func() engine.StoredInbound {
			m := inbound("telegram", "4", "u1", "s1", "x")
			m.Status = "lost"
			return m
		}(), false},
	}
	for _, tc := range bad {
		_, _, err := s.SaveInbound(ctx, tc.m)
		if tc.ref {
			wantErr(t, "SaveInbound with "+tc.name, err, engine.ErrNotFound)
		} else if err == nil {
			t.Errorf("SaveInbound with %s: no error", tc.name)
		}
	}
	pending, err := s.PendingInbound(ctx)
	must(t, "PendingInbound", err)
	if len(pending) != 0 {
		t.Errorf("rejected messages were stored: %v", inboundIDs(pending))
	}
	// The rejected ids are free.
	mustSave(t, s, inbound("telegram", "1", "u1", "s1", "x"))
}

func testPendingInbound(t *testing.T, h Harness) {
	ctx := t.Context()
	s := setup(t, h)
	var ids []int64
	for i := range 6 {
		user, ses := "u1", "s1"
		if i%2 == 1 {
			user, ses = "u2", "s2"
		}
		ids = append(ids, mustSave(t, s, inbound("repl", fmt.Sprint(i), user, ses, fmt.Sprint("m", i))).ID)
	}
	for i := 1; i < len(ids); i++ {
		if ids[i] <= ids[i-1] {
			t.Fatalf("ids not increasing in acceptance order: %v", ids)
		}
	}
	_, err := s.CompleteTurn(ctx, engine.TurnRecord{InboundID: ids[2], Status: engine.InboxDone})
	must(t, "CompleteTurn", err)
	_, err = s.CompleteTurn(ctx, engine.TurnRecord{InboundID: ids[3], Status: engine.InboxFailed})
	must(t, "CompleteTurn failed", err)

	all, err := s.PendingInbound(ctx)
	must(t, "PendingInbound", err)
	if want := []int64{ids[0], ids[1], ids[4], ids[5]}; !equalIDs(inboundIDs(all), want) {
		t.Errorf("PendingInbound = %v, want %v", inboundIDs(all), want)
	}
	cases := []struct {
		session string
		after   int64
		want    []int64
	}{
		{"s1", 0, []int64{ids[0], ids[4]}},
		{"s1", ids[0], []int64{ids[4]}},
		{"s1", ids[4], nil},
		{"s2", 0, []int64{ids[1], ids[5]}},
		{"s2", ids[1], []int64{ids[5]}},
		{"nope", 0, nil},
	}
	for _, tc := range cases {
		got, err := s.PendingInboundForSession(ctx, tc.session, tc.after)
		must(t, "PendingInboundForSession", err)
		if !equalIDs(inboundIDs(got), tc.want) {
			t.Errorf("PendingInboundForSession(%s, %d) = %v, want %v", tc.session, tc.after, inboundIDs(got), tc.want)
		}
		for _, m := range got {
			if m.SessionID != tc.session || m.Status != engine.InboxPending {
				t.Errorf("PendingInboundForSession(%s) returned %+v", tc.session, m)
			}
		}
	}
}
