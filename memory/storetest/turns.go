package storetest

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/hearthbot/hearth/engine"
)

// turnHistory is a user question, a tool call, its result and an answer.
func turnHistory(sessionID string, created time.Time) []engine.HistoryEntry {
	return []engine.HistoryEntry{
		{SessionID: sessionID, CreatedAt: created, Message: engine.ChatMessage{Role: engine.RoleUser, Content: "what time is it?"}},
		{SessionID: sessionID, CreatedAt: created.Add(time.Millisecond), Message: engine.ChatMessage{
			Role: engine.RoleAssistant,
			ToolCalls: []engine.ToolCall{{ID: "call_1", Name: "time",
				Arguments: json.RawMessage(`{"tz":"Europe/Berlin"}`)}},
		}},
		{SessionID: sessionID, CreatedAt: created.Add(2 * time.Millisecond), Message: engine.ChatMessage{
			Role: engine.RoleTool, ToolCallID: "call_1", Name: "time", Content: "10:30"}},
		{SessionID: sessionID, CreatedAt: created.Add(3 * time.Millisecond), Message: engine.ChatMessage{
			Role: engine.RoleAssistant, Content: "It is 10:30."}},
	}
}

func reply(to engine.Address, text string) engine.Outbound {
	return engine.Outbound{Kind: engine.KindReply, To: to, Text: text, Final: true}
}

// checkHistory compares entries, assigning want's Seq from firstSeq.
func checkHistory(t *testing.T, got, want []engine.HistoryEntry, firstSeq, inboundID int64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("history has %d entries, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Seq != firstSeq+int64(i) {
			t.Errorf("entry %d Seq = %d, want %d", i, g.Seq, firstSeq+int64(i))
		}
		if g.SessionID != w.SessionID || g.InboundID != inboundID {
			t.Errorf("entry %d: session %q inbound %d, want %q, %d", i, g.SessionID, g.InboundID, w.SessionID, inboundID)
		}
		checkTime(t, fmt.Sprintf("entry %d CreatedAt", i), g.CreatedAt, w.CreatedAt)
		if !sameMessage(g.Message, w.Message) {
			t.Errorf("entry %d message = %+v, want %+v", i, g.Message, w.Message)
		}
	}
}

// sameMessage compares chat messages, tool-call arguments as JSON values.
func sameMessage(a, b engine.ChatMessage) bool {
	if a.Role != b.Role || a.Content != b.Content || a.ToolCallID != b.ToolCallID || a.Name != b.Name ||
		len(a.ToolCalls) != len(b.ToolCalls) {
		return false
	}
	for i := range a.ToolCalls {
		x, y := a.ToolCalls[i], b.ToolCalls[i]
		if x.ID != y.ID || x.Name != y.Name {
			return false
		}
		var xv, yv any
		if json.Unmarshal(x.Arguments, &xv) != nil || json.Unmarshal(y.Arguments, &yv) != nil || !reflect.DeepEqual(xv, yv) {
			return false
		}
	}
	return true
}

// checkOutbound compares an outbox message, ignoring ID.
func checkOutbound(t *testing.T, got, want engine.Outbound) {
	t.Helper()
	g, w := got, want
	g.ID, w.ID = 0, 0
	if len(g.Meta) == 0 && len(w.Meta) == 0 {
		g.Meta, w.Meta = nil, nil
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("outbound = %+v, want %+v", got, want)
	}
}

func outboundIDs(list []engine.Outbound) []int64 {
	out := make([]int64, len(list))
	for i, o := range list {
		out[i] = o.ID
	}
	return out
}

func testCompleteTurn(t *testing.T, h Harness) {
	ctx := t.Context()
	s := setup(t, h)
	in := mustSave(t, s, inbound("repl", "m1", "u1", "s1", "what time is it?"))
	to := in.Inbound.ReplyAddress()
	hist := turnHistory("s1", at(time.Hour))
	out := []engine.Outbound{
		{Kind: engine.KindReply, To: to, Text: "It is 10:30.", Final: true, InboundID: in.ID,
			Meta: map[string]string{"format": "markdown"}},
		{Kind: engine.KindNotice, To: to, Text: "used 1 tool", Error: true}, // InboundID from the turn
	}
	ids, err := s.CompleteTurn(ctx, engine.TurnRecord{
		InboundID: in.ID, Status: engine.InboxDone, History: hist, Outbound: out,
		Usage: engine.Usage{InputTokens: 100, OutputTokens: 20},
	})
	must(t, "CompleteTurn", err)
	if len(ids) != 2 || ids[0] <= 0 || ids[1] <= ids[0] {
		t.Fatalf("CompleteTurn ids = %v, want two increasing ids", ids)
	}

	got, err := s.GetInbound(ctx, in.ID)
	must(t, "GetInbound", err)
	if got.Status != engine.InboxDone {
		t.Errorf("status after turn = %q, want done", got.Status)
	}
	entries, err := s.History(ctx, "s1", 0, 0)
	must(t, "History", err)
	checkHistory(t, entries, hist, 1, in.ID)

	out[1].InboundID = in.ID
	pending, err := s.PendingOutbound(ctx)
	must(t, "PendingOutbound", err)
	if !equalIDs(outboundIDs(pending), ids) {
		t.Fatalf("PendingOutbound ids = %v, want %v", outboundIDs(pending), ids)
	}
	for i := range out {
		checkOutbound(t, pending[i], out[i])
	}
	replies, err := s.RepliesTo(ctx, in.ID)
	must(t, "RepliesTo", err)
	if !equalIDs(outboundIDs(replies), ids) {
		t.Errorf("RepliesTo = %v, want %v", outboundIDs(replies), ids)
	}

	// The next turn of s1 continues the sequence; s2 has its own.
	in2 := mustSave(t, s, inbound("repl", "m2", "u1", "s1", "thanks"))
	hist2 := []engine.HistoryEntry{
		{SessionID: "s1", CreatedAt: at(2 * time.Hour), Message: engine.ChatMessage{Role: engine.RoleUser, Content: "thanks"}},
		{SessionID: "s1", CreatedAt: at(2 * time.Hour), Message: engine.ChatMessage{Role: engine.RoleAssistant, Content: "welcome"}},
	}
	ids2, err := s.CompleteTurn(ctx, engine.TurnRecord{InboundID: in2.ID, History: hist2,
		Outbound: []engine.Outbound{reply(to, "welcome")}})
	must(t, "CompleteTurn 2", err)
	if len(ids2) != 1 || ids2[0] <= ids[1] {
		t.Errorf("second turn ids = %v, want one id after %v", ids2, ids)
	}
	entries, err = s.History(ctx, "s1", 4, 0)
	must(t, "History after 4", err)
	checkHistory(t, entries, hist2, 5, in2.ID)

	in3 := mustSave(t, s, inbound("repl", "m3", "u2", "s2", "hi"))
	hist3 := []engine.HistoryEntry{{SessionID: "s2", CreatedAt: at(3 * time.Hour),
		Message: engine.ChatMessage{Role: engine.RoleUser, Content: "hi"}}}
	_, err = s.CompleteTurn(ctx, engine.TurnRecord{InboundID: in3.ID, History: hist3})
	must(t, "CompleteTurn s2", err)
	entries, err = s.History(ctx, "s2", 0, 0)
	must(t, "History s2", err)
	checkHistory(t, entries, hist3, 1, in3.ID)
	replies, err = s.RepliesTo(ctx, in3.ID)
	must(t, "RepliesTo without replies", err)
	if len(replies) != 0 {
		t.Errorf("RepliesTo(%d) = %v, want none", in3.ID, outboundIDs(replies))
	}
}

func testCompleteTurnDefaults(t *testing.T, h Harness) {
	ctx := t.Context()
	s := setup(t, h)
	in := mustSave(t, s, inbound("repl", "m1", "u1", "s1", "hi"))
	// Entries without session, inbound or time take the turn's; no status
	// means done.
	ids, err := s.CompleteTurn(ctx, engine.TurnRecord{
		InboundID: in.ID,
		History: []engine.HistoryEntry{
			{Message: engine.ChatMessage{Role: engine.RoleUser, Content: "hi"}},
			{Message: engine.ChatMessage{Role: engine.RoleAssistant, Content: "hello"}},
		},
		Outbound: []engine.Outbound{reply(in.Inbound.ReplyAddress(), "hello")},
	})
	must(t, "CompleteTurn", err)
	got, err := s.GetInbound(ctx, in.ID)
	must(t, "GetInbound", err)
	if got.Status != engine.InboxDone {
		t.Errorf("status = %q, want done", got.Status)
	}
	entries, err := s.History(ctx, "s1", 0, 0)
	must(t, "History", err)
	if len(entries) != 2 {
		t.Fatalf("History = %+v, want 2 entries", entries)
	}
	for _, e := range entries {
		if e.SessionID != "s1" || e.InboundID != in.ID {
			t.Errorf("entry %d: session %q inbound %d, want s1, %d", e.Seq, e.SessionID, e.InboundID, in.ID)
		}
		checkSet(t, "entry CreatedAt", e.CreatedAt)
	}
	replies, err := s.RepliesTo(ctx, in.ID)
	must(t, "RepliesTo", err)
	if len(replies) != 1 || replies[0].ID != ids[0] || replies[0].InboundID != in.ID {
		t.Errorf("RepliesTo = %+v, want outbox %v with inbound %d", replies, ids, in.ID)
	}

	// A failed turn: status only.
	in2 := mustSave(t, s, inbound("repl", "m2", "u1", "s1", "again"))
	ids, err = s.CompleteTurn(ctx, engine.TurnRecord{InboundID: in2.ID, Status: engine.InboxFailed})
	must(t, "CompleteTurn failed", err)
	if len(ids) != 0 {
		t.Errorf("ids of a turn without outbound = %v", ids)
	}
	got, err = s.GetInbound(ctx, in2.ID)
	must(t, "GetInbound", err)
	if got.Status != engine.InboxFailed {
		t.Errorf("status = %q, want failed", got.Status)
	}

	// A synthetic turn (heartbeat) without an inbound message.
	ids, err = s.CompleteTurn(ctx, engine.TurnRecord{
		History:  []engine.HistoryEntry{{SessionID: "s2", Message: engine.ChatMessage{Role: engine.RoleAssistant, Content: "ping"}}},
		Outbound: []engine.Outbound{{Kind: engine.KindNotice, To: engine.Address{Channel: "repl", Conversation: "c"}, Text: "ping"}},
	})
	must(t, "CompleteTurn without inbound", err)
	entries, err = s.History(ctx, "s2", 0, 0)
	must(t, "History s2", err)
	if len(entries) != 1 || entries[0].InboundID != 0 || entries[0].Seq != 1 {
		t.Errorf("synthetic history = %+v", entries)
	}
	pending, err := s.PendingOutbound(ctx)
	must(t, "PendingOutbound", err)
	if n := len(pending); n != 2 || pending[1].ID != ids[0] || pending[1].InboundID != 0 {
		t.Errorf("PendingOutbound = %+v, want the reply then notice %v without inbound", pending, ids)
	}
}

// testCompleteTurnAtomic checks that a turn failing part-way writes
// nothing: no history, no status change, no outbox row.
func testCompleteTurnAtomic(t *testing.T, h Harness) {
	ctx := t.Context()
	s := setup(t, h)
	in := mustSave(t, s, inbound("repl", "m1", "u1", "s1", "hi"))
	to := in.Inbound.ReplyAddress()
	good := engine.HistoryEntry{SessionID: "s1", Message: engine.ChatMessage{Role: engine.RoleUser, Content: "hi"}}
	failing := []struct {
		name string
		rec  engine.TurnRecord
	}{
		{"second entry in an unknown session", engine.TurnRecord{InboundID: in.ID,
			History:  []engine.HistoryEntry{good, {SessionID: "ghost", Message: engine.ChatMessage{Role: engine.RoleAssistant}}},
			Outbound: []engine.Outbound{reply(to, "x")}}},
		{"outbound for an unknown inbound", engine.TurnRecord{InboundID: in.ID,
			History:  []engine.HistoryEntry{good},
			Outbound: []engine.Outbound{reply(to, "x"), {Kind: engine.KindReply, To: to, InboundID: 987654321}}}},
		{"outbound without channel", engine.TurnRecord{InboundID: in.ID,
			History: []engine.HistoryEntry{good}, Outbound: []engine.Outbound{reply(to, "x"), {Kind: engine.KindReply}}}},
		{"entry without role", engine.TurnRecord{InboundID: in.ID,
			History: []engine.HistoryEntry{good, {SessionID: "s1"}}}},
		{"unknown status", engine.TurnRecord{InboundID: in.ID, Status: "weird", History: []engine.HistoryEntry{good}}},
		{"unknown inbound", engine.TurnRecord{InboundID: 987654321, History: []engine.HistoryEntry{good},
			Outbound: []engine.Outbound{reply(to, "x")}}},
	}
	for _, tc := range failing {
		ids, err := s.CompleteTurn(ctx, tc.rec)
		if err == nil {
			t.Errorf("CompleteTurn with %s: no error (ids %v)", tc.name, ids)
		}
		if tc.name == "unknown inbound" {
			wantErr(t, "CompleteTurn with "+tc.name, err, engine.ErrNotFound)
		}
		if len(ids) != 0 {
			t.Errorf("CompleteTurn with %s returned ids %v", tc.name, ids)
		}
	}
	entries, err := s.History(ctx, "s1", 0, 0)
	must(t, "History", err)
	if len(entries) != 0 {
		t.Errorf("failed turns left history: %+v", entries)
	}
	got, err := s.GetInbound(ctx, in.ID)
	must(t, "GetInbound", err)
	if got.Status != engine.InboxPending {
		t.Errorf("failed turns changed status to %q", got.Status)
	}
	pending, err := s.PendingOutbound(ctx)
	must(t, "PendingOutbound", err)
	if len(pending) != 0 {
		t.Errorf("failed turns queued outbound %v", outboundIDs(pending))
	}

	// The store is fine afterwards and numbering starts at 1.
	_, err = s.CompleteTurn(ctx, engine.TurnRecord{InboundID: in.ID, History: []engine.HistoryEntry{good}})
	must(t, "CompleteTurn after failures", err)
	entries, err = s.History(ctx, "s1", 0, 0)
	must(t, "History", err)
	if len(entries) != 1 || entries[0].Seq != 1 {
		t.Errorf("history after failures = %+v, want one entry with seq 1", entries)
	}
}

func testHistoryPaging(t *testing.T, h Harness) {
	ctx := t.Context()
	s := setup(t, h)
	var all []engine.HistoryEntry
	for turn := range 5 {
		in := mustSave(t, s, inbound("repl", fmt.Sprint("m", turn), "u1", "s1", "q"))
		hist := []engine.HistoryEntry{
			{SessionID: "s1", CreatedAt: at(time.Duration(turn) * time.Minute), Message: engine.ChatMessage{Role: engine.RoleUser, Content: fmt.Sprint("q", turn)}},
			{SessionID: "s1", CreatedAt: at(time.Duration(turn) * time.Minute), Message: engine.ChatMessage{Role: engine.RoleAssistant, Content: fmt.Sprint("a", turn)}},
		}
		_, err := s.CompleteTurn(ctx, engine.TurnRecord{InboundID: in.ID, History: hist})
		must(t, "CompleteTurn", err)
		all = append(all, hist...)
	}
	cases := []struct {
		after      int64
		limit      int
		from, upto int // want all[from:upto]
	}{
		{0, 0, 0, 10},
		{0, 4, 0, 4},
		{4, 4, 4, 8},
		{8, 4, 8, 10},
		{10, 4, 10, 10},
		{3, 0, 3, 10},
		{0, 100, 0, 10},
		{-5, 2, 0, 2},
	}
	for _, tc := range cases {
		got, err := s.History(ctx, "s1", tc.after, tc.limit)
		must(t, "History", err)
		if len(got) != tc.upto-tc.from {
			t.Errorf("History(after %d, limit %d) has %d entries, want %d", tc.after, tc.limit, len(got), tc.upto-tc.from)
			continue
		}
		for i, e := range got {
			w := all[tc.from+i]
			if e.Seq != int64(tc.from+i+1) || e.Message.Content != w.Message.Content {
				t.Errorf("History(after %d, limit %d)[%d] = seq %d %q, want seq %d %q",
					tc.after, tc.limit, i, e.Seq, e.Message.Content, tc.from+i+1, w.Message.Content)
			}
		}
	}
	got, err := s.History(ctx, "unknown", 0, 0)
	must(t, "History of an unknown session", err)
	if len(got) != 0 {
		t.Errorf("History of an unknown session = %+v", got)
	}
	if _, err := s.History(ctx, "s1", 0, -1); err == nil {
		t.Error("History with a negative limit: no error")
	}
}
