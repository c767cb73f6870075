package sqlite_test

import (
	"context"
	"testing"

	"github.com/hearthbot/hearth/engine"
)

// BenchmarkAPITokenByHash measures authenticating one API request: the
// lookup of a token by its hash among 1,000 tokens.
func BenchmarkAPITokenByHash(b *testing.B) {
	ctx := context.Background()
	s := benchStore(b) // user "u"
	var text string
	for i := range 1000 {
		t, rec := engine.NewAPIToken("u", "")
		if err := s.CreateAPIToken(ctx, rec); err != nil {
			b.Fatal(err)
		}
		if i == 500 {
			text = t
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.APITokenByHash(ctx, engine.HashAPIToken(text)); err != nil {
			b.Fatal(err)
		}
	}
}
