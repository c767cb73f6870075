package webhook

import (
	"fmt"
	"testing"

	"github.com/hearthbot/hearth/engine"
)

// TestResultFolding: the answer of a live request (waiter.add) and of a
// retried one (storedResult's fold) are built by the same rules.
func TestResultFolding(t *testing.T) {
	reply := func(text string, final, failed bool) engine.Outbound {
		return engine.Outbound{Kind: engine.KindReply, Text: text, Final: final, Error: failed}
	}
	notice := func(text string, failed bool) engine.Outbound {
		return engine.Outbound{Kind: engine.KindNotice, Text: text, Error: failed}
	}
	tests := []struct {
		name     string
		msgs     []engine.Outbound
		want     result
		wantDone bool
	}{
		{"nothing yet", nil, result{}, false},
		{"partial replies", []engine.Outbound{reply("a", false, false), reply("", false, false)},
			result{replies: []string{"a"}}, false},
		{"final reply", []engine.Outbound{reply("a", false, false), reply("b", true, false)},
			result{replies: []string{"a", "b"}, final: true}, true},
		{"empty final reply", []engine.Outbound{reply("", true, false)}, result{final: true}, true},
		{"a notice ends it", []engine.Outbound{notice("code 1234", false)},
			result{notices: []string{"code 1234"}}, true},
		{"failure", []engine.Outbound{reply("part", false, false), notice("model down", true)},
			result{replies: []string{"part"}, notices: []string{"model down"}, failed: true}, true},
		{"other kinds left out", []engine.Outbound{{Kind: engine.KindDelta, Text: "d"}, {Kind: engine.KindStatus, Text: "s"}},
			result{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newWaiter()
			for _, m := range tc.msgs {
				w.add(m)
			}
			var folded result
			for _, m := range tc.msgs {
				folded.add(m)
			}
			for name, got := range map[string]result{"waiter": w.result(), "fold": folded} {
				if fmt.Sprint(got) != fmt.Sprint(tc.want) || got.done() != tc.wantDone {
					t.Fatalf("%s: %+v (done %v), want %+v (done %v)", name, got, got.done(), tc.want, tc.wantDone)
				}
			}
			select {
			case <-w.done:
				if !tc.wantDone {
					t.Fatal("waiter done too early")
				}
				if w.add(reply("late", true, false)) {
					t.Fatal("a complete waiter took another message")
				}
			default:
				if tc.wantDone {
					t.Fatal("waiter not done")
				}
			}
		})
	}
}
