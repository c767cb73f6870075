package bot

import (
	"testing"

	"github.com/hearthbot/hearth/engine/runtime"
)

func TestReleaseDue(t *testing.T) {
	quiet := runtime.Stats{Accepted: 5, Turns: 5}
	tests := []struct {
		name                 string
		now, last, atRelease runtime.Stats
		want                 bool
	}{
		{"idle for a period after activity", quiet, quiet, runtime.Stats{Accepted: 2, Turns: 2}, true},
		{"nothing since the last release", quiet, quiet, quiet, false},
		{"a message arrived during the period", quiet, runtime.Stats{Accepted: 4, Turns: 4}, runtime.Stats{}, false},
		{"a turn ended during the period", quiet, runtime.Stats{Accepted: 5, Turns: 4}, runtime.Stats{}, false},
		{"a turn is running", runtime.Stats{Accepted: 5, Turns: 4, Running: 1}, runtime.Stats{Accepted: 5, Turns: 4, Running: 1}, runtime.Stats{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := releaseDue(tc.now, tc.last, tc.atRelease); got != tc.want {
				t.Fatalf("releaseDue = %v, want %v", got, tc.want)
			}
		})
	}
}
