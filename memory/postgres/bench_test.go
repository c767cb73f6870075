package postgres_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/memory/postgres"
)

// The benchmarks mirror memory/sqlite's, against the test server on
// loopback (scripts/pg-test.sh: fsync off, so they measure round trips
// and server CPU, not the disk).

// benchStore opens a store on a fresh schema with one user and session "s".
func benchStore(b *testing.B) *postgres.Store {
	b.Helper()
	ctx := context.Background()
	s := openAt(b, schemaURL(b))
	if err := s.CreateUser(ctx, engine.User{ID: "u", Name: "U", Role: engine.RoleOwner}); err != nil {
		b.Fatal(err)
	}
	if err := s.CreateSession(ctx, engine.Session{ID: "s", UserID: "u", Key: "repl\x1flocal\x1f"}); err != nil {
		b.Fatal(err)
	}
	return s
}

func benchContext(b *testing.B) context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	return ctx
}

func benchInbound(i int) engine.StoredInbound {
	return engine.StoredInbound{
		Inbound: engine.Inbound{
			Channel: "repl", MessageID: fmt.Sprintf("m%d", i), Conversation: "local",
			Sender: engine.Sender{ID: "owner", DisplayName: "Owner"}, Direct: true,
			Text: "What is on my calendar tomorrow, and can you remind me to call Sam at 5?", ReceivedAt: time.Now(),
		},
		UserID: "u", SessionID: "s", Status: engine.InboxPending,
	}
}

// benchTurn is a turn with a tool call: 3 history entries and one reply.
func benchTurn(inboundID int64) engine.TurnRecord {
	to := engine.Address{Channel: "repl", Conversation: "local"}
	return engine.TurnRecord{
		InboundID: inboundID, Status: engine.InboxDone,
		History: []engine.HistoryEntry{
			{SessionID: "s", Message: engine.ChatMessage{Role: engine.RoleUser, Content: "What is on my calendar tomorrow, and can you remind me to call Sam at 5?"}},
			{SessionID: "s", Message: engine.ChatMessage{Role: engine.RoleAssistant, ToolCalls: []engine.ToolCall{{ID: "call_1", Name: "time", Arguments: []byte(`{}`)}}}},
			{SessionID: "s", Message: engine.ChatMessage{Role: engine.RoleAssistant, Content: "Tomorrow you have a dentist appointment at 9:30. I'll remind you to call Sam at 17:00."}},
		},
		Outbound: []engine.Outbound{{Kind: engine.KindReply, To: to, Text: "Tomorrow you have a dentist appointment at 9:30. I'll remind you to call Sam at 17:00.", Final: true}},
		Usage:    engine.Usage{InputTokens: 812, OutputTokens: 41},
	}
}

func BenchmarkSaveInbound(b *testing.B) {
	s := benchStore(b)
	ctx := benchContext(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, _, err := s.SaveInbound(ctx, benchInbound(i)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCompleteTurn(b *testing.B) {
	s := benchStore(b)
	ctx := benchContext(b)
	ids := make([]int64, b.N)
	for i := range ids {
		m, _, err := s.SaveInbound(ctx, benchInbound(i))
		if err != nil {
			b.Fatal(err)
		}
		ids[i] = m.ID
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.CompleteTurn(ctx, benchTurn(ids[i])); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkHistory50(b *testing.B) {
	s := benchStore(b)
	ctx := benchContext(b)
	for i := range 300 { // 900 entries
		m, _, err := s.SaveInbound(ctx, benchInbound(i))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.CompleteTurn(ctx, benchTurn(m.ID)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		h, err := s.History(ctx, "s", 850, 50)
		if err != nil || len(h) != 50 {
			b.Fatal(len(h), err)
		}
	}
}

// BenchmarkMessage is the store's share of one message through the engine
// (engine/runtime): find the session, accept the message, load session and
// user for the turn, record the turn, read back the entries it added, mark
// the reply delivered.
func BenchmarkMessage(b *testing.B) {
	s := benchStore(b)
	ctx := benchContext(b)
	key := "repl\x1flocal\x1f"
	var last int64
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.ActiveSession(ctx, "u", key); err != nil {
			b.Fatal(err)
		}
		m, _, err := s.SaveInbound(ctx, benchInbound(i))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.GetSession(ctx, "s"); err != nil {
			b.Fatal(err)
		}
		if _, err := s.GetUser(ctx, "u"); err != nil {
			b.Fatal(err)
		}
		ids, err := s.CompleteTurn(ctx, benchTurn(m.ID))
		if err != nil {
			b.Fatal(err)
		}
		added, err := s.History(ctx, "s", last, 0)
		if err != nil || len(added) != 3 {
			b.Fatal(len(added), err)
		}
		last = added[2].Seq
		if err := s.MarkDelivered(ctx, ids[0], time.Now()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMessageParallel runs BenchmarkMessage's sequence from many
// goroutines, each in its own session: the pool's throughput.
func BenchmarkMessageParallel(b *testing.B) {
	s := benchStore(b)
	ctx := benchContext(b)
	const sessions = 64
	for i := range sessions {
		if err := s.CreateSession(ctx, engine.Session{ID: fmt.Sprint("p", i), UserID: "u", Key: fmt.Sprint("k", i)}); err != nil {
			b.Fatal(err)
		}
	}
	next := make(chan int, sessions)
	for i := range sessions {
		next <- i
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		w := <-next
		sid := fmt.Sprint("p", w)
		for i := 0; pb.Next(); i++ {
			in := benchInbound(i)
			in.Inbound.MessageID = fmt.Sprintf("%d-%d", w, i)
			in.SessionID = sid
			m, _, err := s.SaveInbound(ctx, in)
			if err != nil {
				b.Error(err)
				return
			}
			rec := benchTurn(m.ID)
			for j := range rec.History {
				rec.History[j].SessionID = sid
			}
			if _, err := s.CompleteTurn(ctx, rec); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkOpen opens a store on an up-to-date schema and closes it: the
// store's share of process start-up (connect, migration check under the
// advisory lock, pool).
func BenchmarkOpen(b *testing.B) {
	u := schemaURL(b)
	s, err := postgres.Open(context.Background(), u, postgres.Options{})
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s, err := postgres.Open(context.Background(), u, postgres.Options{})
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
	}
}
