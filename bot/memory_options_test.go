package bot

import (
	"testing"
	"time"

	"github.com/hearthbot/hearth/bot/config"
	"github.com/hearthbot/hearth/memory"
)

func TestMemoryOptionsFromConfig(t *testing.T) {
	def := config.Default().Memory
	tests := []struct {
		name  string
		tweak func(*config.MemoryConfig)
		check func(memory.Options) bool
	}{
		{"defaults equal the service's", func(*config.MemoryConfig) {}, func(o memory.Options) bool {
			return o.RRFK == 60 && o.Candidates == memory.DefaultCandidates && o.Chunk.Words == 800 && o.Chunk.Overlap == 0.15 &&
				o.MaxDocumentBytes == memory.DefaultMaxDocumentBytes && o.KeepVersions == memory.DefaultKeepVersions &&
				o.FileChars == memory.DefaultFileChars && o.TotalChars == memory.DefaultTotalChars &&
				o.RecallTokens == memory.DefaultRecallTokens && o.RecallHits == memory.DefaultRecallHits &&
				o.RecencyHalfLife == memory.DefaultRecencyHalfLife && o.RecencyWeight == memory.DefaultRecencyWeight
		}},
		{"recall_tokens 0 turns recall off", func(c *config.MemoryConfig) { c.RecallTokens = 0 }, func(o memory.Options) bool { return o.RecallTokens < 0 }},
		{"recency_weight 0 turns recency off", func(c *config.MemoryConfig) { c.RecencyWeight = 0 }, func(o memory.Options) bool { return o.RecencyWeight < 0 }},
		{"keep_versions -1 keeps all", func(c *config.MemoryConfig) { c.KeepVersions = -1 }, func(o memory.Options) bool { return o.KeepVersions == -1 }},
		{"half-life passes through", func(c *config.MemoryConfig) { c.RecencyHalfLife = 48 * time.Hour }, func(o memory.Options) bool { return o.RecencyHalfLife == 48*time.Hour }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := def
			tc.tweak(&c)
			if o := memoryOptions(c); !tc.check(o) {
				t.Fatalf("options %+v from %+v", o, c)
			}
		})
	}
}
