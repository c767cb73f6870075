package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/memory/sqlite"
)

// benchStore opens a store with one user and session "s".
func benchStore(b *testing.B) *sqlite.Store {
	b.Helper()
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "hearth.db"), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	if err := s.CreateUser(ctx, engine.User{ID: "u", Name: "U", Role: engine.RoleOwner}); err != nil {
		b.Fatal(err)
	}
	if err := s.CreateSession(ctx, engine.Session{ID: "s", UserID: "u", Key: "repl\x1flocal\x1f"}); err != nil {
		b.Fatal(err)
	}
	return s
}

// benchContext is cancellable, like the engine's contexts: a driver may
// spend extra work watching it.
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

// benchTurn is a turn with a tool call: the user's message, the tool call,
// the answer (3 history entries) and one reply. Entries carry their
// session, as the engine's do.
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
	cpu := startCPU()
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
	cpu.report(b)
}

// BenchmarkOpen opens an existing store file (migrations up to date) and
// closes it: the store's share of process start-up.
func BenchmarkOpen(b *testing.B) {
	path := filepath.Join(b.TempDir(), "hearth.db")
	s, err := sqlite.Open(context.Background(), path, sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s, err := sqlite.Open(context.Background(), path, sqlite.Options{})
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOpenFresh creates a store in a new file (every migration
// applied) and closes it: the store's share of a first start.
func BenchmarkOpenFresh(b *testing.B) {
	dir := b.TempDir()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s, err := sqlite.Open(context.Background(), filepath.Join(dir, fmt.Sprintf("h%d.db", i)), sqlite.Options{})
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
	}
}
