package storetest

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hearthbot/hearth/engine"
)

// testConcurrentWriters runs many goroutines that each accept messages and
// complete turns in their own session, reading history as they go: no
// call fails and nothing is lost or reordered.
func testConcurrentWriters(t *testing.T, h Harness) {
	const workers, turns = 20, 50
	ctx := t.Context()
	s := newStore(t, h)
	for w := range workers {
		mustUser(t, s, fmt.Sprintf("u%02d", w), engine.RoleMember, at(0))
		mustSession(t, s, fmt.Sprintf("s%02d", w), fmt.Sprintf("u%02d", w), "k", at(0))
	}
	var errs collect
	run(workers, func(w int) {
		uid, sid := fmt.Sprintf("u%02d", w), fmt.Sprintf("s%02d", w)
		for i := range turns {
			m, created, err := s.SaveInbound(ctx, inbound("load", fmt.Sprintf("%d-%d", w, i), uid, sid, "q"))
			if err != nil || !created {
				errs.add("worker %d turn %d: SaveInbound: created %v, %v", w, i, created, err)
				return
			}
			ids, err := s.CompleteTurn(ctx, engine.TurnRecord{
				InboundID: m.ID,
				History: []engine.HistoryEntry{
					{Message: engine.ChatMessage{Role: engine.RoleUser, Content: fmt.Sprintf("%d-%d-q", w, i)}},
					{Message: engine.ChatMessage{Role: engine.RoleAssistant, Content: fmt.Sprintf("%d-%d-a", w, i)}},
				},
				Outbound: []engine.Outbound{reply(m.Inbound.ReplyAddress(), "a")},
			})
			if err != nil || len(ids) != 1 {
				errs.add("worker %d turn %d: CompleteTurn: ids %v, %v", w, i, ids, err)
				return
			}
			last, err := s.History(ctx, sid, int64(2*i), 0)
			if err != nil || len(last) != 2 || last[0].Seq != int64(2*i+1) || last[1].Message.Content != fmt.Sprintf("%d-%d-a", w, i) {
				errs.add("worker %d turn %d: History after own turn = %+v, %v", w, i, last, err)
				return
			}
		}
	})
	errs.report(t)
	if t.Failed() {
		return
	}

	pending, err := s.PendingInbound(ctx)
	must(t, "PendingInbound", err)
	if len(pending) != 0 {
		t.Errorf("%d messages still pending", len(pending))
	}
	out, err := s.PendingOutbound(ctx)
	must(t, "PendingOutbound", err)
	if len(out) != workers*turns {
		t.Errorf("PendingOutbound has %d messages, want %d", len(out), workers*turns)
	}
	for i := 1; i < len(out); i++ {
		if out[i].ID <= out[i-1].ID {
			t.Fatalf("PendingOutbound not in id order at %d: %d after %d", i, out[i].ID, out[i-1].ID)
		}
	}
	for w := range workers {
		hist, err := s.History(ctx, fmt.Sprintf("s%02d", w), 0, 0)
		must(t, "History", err)
		if len(hist) != 2*turns {
			t.Errorf("session %d has %d history entries, want %d", w, len(hist), 2*turns)
			continue
		}
		for j, e := range hist {
			suffix := "q"
			if j%2 == 1 {
				suffix = "a"
			}
			if want := fmt.Sprintf("%d-%d-%s", w, j/2, suffix); e.Seq != int64(j+1) || e.Message.Content != want {
				t.Errorf("session %d entry %d = seq %d %q, want seq %d %q", w, j, e.Seq, e.Message.Content, j+1, want)
				break
			}
		}
	}
}

// testCloseDuringWrites closes the store while writers and readers run.
// Close waits for the writes in flight; every write acknowledged before it
// is kept (checked after reopening when the harness can), and no call that
// starts after Close returned succeeds.
func testCloseDuringWrites(t *testing.T, h Harness) {
	const workers, enoughAcks = 8, 40
	ctx := t.Context()
	s := setup(t, h)
	var (
		mu     sync.Mutex
		acked  = map[int64]string{}
		count  atomic.Int64
		closed atomic.Bool
		errs   collect
		wg     sync.WaitGroup
	)
	enough := make(chan struct{})
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				wasClosed := closed.Load()
				msgID := fmt.Sprintf("%d-%d", w, i)
				m, _, err := s.SaveInbound(ctx, inbound("close", msgID, "u1", "s1", "x"))
				if err != nil {
					return
				}
				if wasClosed {
					errs.add("worker %d: SaveInbound succeeded after Close returned", w)
					return
				}
				mu.Lock()
				acked[m.ID] = msgID
				mu.Unlock()
				if count.Add(1) == enoughAcks {
					close(enough)
				}
			}
		}()
	}
	// Readers run through Close as well.
	for r := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				wasClosed := closed.Load()
				_, err := s.PendingInbound(ctx)
				if err == nil {
					_, err = s.History(ctx, "s1", 0, 10)
				}
				if err != nil {
					return
				}
				if wasClosed {
					errs.add("reader %d: a read succeeded after Close returned", r)
					return
				}
			}
		}()
	}
	allDone := make(chan struct{})
	go func() { wg.Wait(); close(allDone) }()
	select {
	case <-enough:
	case <-allDone:
		t.Fatalf("writers stopped before Close, after %d acknowledged writes", count.Load())
	}
	must(t, "Close", s.Close())
	closed.Store(true)
	<-allDone
	errs.report(t)

	r, ok := h.(Reopener)
	if !ok {
		return
	}
	s2, err := r.Reopen(ctx, t, s)
	must(t, "Reopen", err)
	mu.Lock()
	defer mu.Unlock()
	for id, msgID := range acked {
		m, err := s2.GetInbound(ctx, id)
		if err != nil || m.Inbound.MessageID != msgID {
			t.Errorf("acknowledged message %d (%s) after reopen: %+v, %v", id, msgID, m.Inbound, err)
		}
	}
}

func testUseAfterClose(t *testing.T, h Harness) {
	ctx := t.Context()
	s := setup(t, h)
	must(t, "Close", s.Close())
	_ = s.Close() // a second Close must not panic
	calls := []struct {
		name string
		fn   func() error
	}{
		{"Ping", func() error { return s.Ping(ctx) }},
		{"GetUser", func() error { _, err := s.GetUser(ctx, "u1"); return err }},
		{"CreateUser", func() error {
			return s.CreateUser(ctx, engine.User{ID: "u9", Name: "x", Role: engine.RoleMember})
		}},
		{"SaveInbound", func() error { _, _, err := s.SaveInbound(ctx, inbound("repl", "1", "u1", "s1", "x")); return err }},
		{"History", func() error { _, err := s.History(ctx, "s1", 0, 0); return err }},
		{"CompleteTurn", func() error { _, err := s.CompleteTurn(ctx, engine.TurnRecord{InboundID: 1}); return err }},
		{"ListAudit", func() error { _, err := s.ListAudit(ctx, engine.AuditFilter{}); return err }},
		{"PutSecret", func() error {
			return s.PutSecret(ctx, engine.StoredSecret{UserID: "u1", Name: "n", Ciphertext: []byte("c")})
		}},
	}
	for _, c := range calls {
		if err := c.fn(); err == nil {
			t.Errorf("%s after Close: no error", c.name)
		}
	}
}

// testPersistence writes one of everything, reopens the store and reads it
// back; numbering continues where it stopped.
func testPersistence(t *testing.T, h Harness) {
	r, ok := h.(Reopener)
	if !ok {
		t.Skip("harness does not implement storetest.Reopener")
	}
	ctx := t.Context()
	s := setup(t, h)
	must(t, "LinkIdentity", s.LinkIdentity(ctx, engine.Identity{Channel: "telegram", PlatformID: "42", UserID: "u1", CreatedAt: at(0)}))
	p := pairing("PERS2345", "slack", "U1", at(0))
	must(t, "CreatePairing", s.CreatePairing(ctx, p))
	must(t, "UpdateSession", s.UpdateSession(ctx, engine.Session{ID: "s1", Model: "m", Summary: "sum", SummaryThrough: 2, UpdatedAt: at(time.Hour)}))
	in := mustSave(t, s, inbound("repl", "p1", "u1", "s1", "remember me"))
	hist := turnHistory("s1", at(time.Minute))
	ids, err := s.CompleteTurn(ctx, engine.TurnRecord{InboundID: in.ID, History: hist,
		Outbound: []engine.Outbound{reply(in.Inbound.ReplyAddress(), "a"), reply(in.Inbound.ReplyAddress(), "b")}})
	must(t, "CompleteTurn", err)
	must(t, "MarkDelivered", s.MarkDelivered(ctx, ids[0], at(time.Minute)))
	waiting := mustSave(t, s, inbound("repl", "p2", "u1", "s1", "answer me after restart"))
	auditID, err := s.RecordAudit(ctx, engine.AuditEntry{Time: at(0), Kind: "tool", UserID: "u1", Tool: "time", Outcome: "ok"})
	must(t, "RecordAudit", err)
	sec := engine.StoredSecret{UserID: "u1", Name: "k", Ciphertext: []byte("c"), CreatedAt: at(0), UpdatedAt: at(0), LastUsed: at(time.Second)}
	must(t, "PutSecret", s.PutSecret(ctx, sec))

	s, err = r.Reopen(ctx, t, s)
	must(t, "Reopen", err)

	u, err := s.GetUser(ctx, "u1")
	must(t, "GetUser", err)
	checkTime(t, "user CreatedAt", u.CreatedAt, at(0))
	id, err := s.IdentityFor(ctx, "telegram", "42")
	must(t, "IdentityFor", err)
	if id.UserID != "u1" {
		t.Errorf("identity after reopen = %+v", id)
	}
	got, err := s.PendingPairingFor(ctx, "slack", "U1", at(time.Minute))
	must(t, "PendingPairingFor", err)
	checkPairing(t, got, p)
	ses, err := s.ActiveSession(ctx, "u1", "k1")
	must(t, "ActiveSession", err)
	if ses.ID != "s1" || ses.Summary != "sum" || ses.SummaryThrough != 2 {
		t.Errorf("session after reopen = %+v", ses)
	}
	entries, err := s.History(ctx, "s1", 0, 0)
	must(t, "History", err)
	checkHistory(t, entries, hist, 1, in.ID)
	pending, err := s.PendingInbound(ctx)
	must(t, "PendingInbound", err)
	if !equalIDs(inboundIDs(pending), []int64{waiting.ID}) {
		t.Errorf("PendingInbound after reopen = %v, want [%d]", inboundIDs(pending), waiting.ID)
	}
	out, err := s.PendingOutbound(ctx)
	must(t, "PendingOutbound", err)
	if !equalIDs(outboundIDs(out), ids[1:]) {
		t.Errorf("PendingOutbound after reopen = %v, want %v", outboundIDs(out), ids[1:])
	}
	audit, err := s.ListAudit(ctx, engine.AuditFilter{})
	must(t, "ListAudit", err)
	if len(audit) != 1 || audit[0].ID != auditID {
		t.Errorf("audit after reopen = %+v", audit)
	}
	gotSec, err := s.GetSecret(ctx, "u1", "k")
	must(t, "GetSecret", err)
	checkSecret(t, gotSec, sec)

	// Numbering continues.
	next := mustSave(t, s, inbound("repl", "p3", "u1", "s1", "after"))
	if next.ID <= waiting.ID {
		t.Errorf("inbound id after reopen = %d, want > %d", next.ID, waiting.ID)
	}
	_, err = s.CompleteTurn(ctx, engine.TurnRecord{InboundID: next.ID,
		History: []engine.HistoryEntry{{Message: engine.ChatMessage{Role: engine.RoleUser, Content: "after"}}}})
	must(t, "CompleteTurn after reopen", err)
	entries, err = s.History(ctx, "s1", int64(len(hist)), 0)
	must(t, "History after reopen", err)
	if len(entries) != 1 || entries[0].Seq != int64(len(hist)+1) {
		t.Errorf("history after reopen continues as %+v, want seq %d", entries, len(hist)+1)
	}
}
