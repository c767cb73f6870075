package channelkit_test

import (
	"testing"
	"time"

	"github.com/hearthbot/hearth/engine/channelkit"
)

func TestFillDefault(t *testing.T) {
	tests := []struct {
		name    string
		v, def  int64
		want    int64
		wantErr string
	}{
		{"zero takes the default", 0, 7, 7, ""},
		{"set value stays", 3, 7, 3, ""},
		{"negative is refused", -1, 7, -1, "max body bytes must not be negative, got -1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := tc.v
			err := channelkit.FillDefault("max body bytes", &v, tc.def)
			if (err == nil) != (tc.wantErr == "") || (err != nil && err.Error() != tc.wantErr) {
				t.Fatalf("error %v, want %q", err, tc.wantErr)
			}
			if v != tc.want {
				t.Fatalf("value %d, want %d", v, tc.want)
			}
		})
	}
}

func TestFillDurations(t *testing.T) {
	tests := []struct {
		name    string
		in      [3]time.Duration
		want    [3]time.Duration
		wantErr string
	}{
		{"defaults", [3]time.Duration{}, [3]time.Duration{time.Second, time.Minute, time.Hour}, ""},
		{"set values stay", [3]time.Duration{2, 3, 4}, [3]time.Duration{2, 3, 4}, ""},
		{"first error stops", [3]time.Duration{0, -time.Second, -time.Minute}, [3]time.Duration{time.Second, -time.Second, -time.Minute},
			"b must not be negative, got -1s"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := tc.in
			err := channelkit.FillDurations(
				channelkit.DurationOption{Name: "a", Value: &v[0], Default: time.Second},
				channelkit.DurationOption{Name: "b", Value: &v[1], Default: time.Minute},
				channelkit.DurationOption{Name: "c", Value: &v[2], Default: time.Hour},
			)
			if (err == nil) != (tc.wantErr == "") || (err != nil && err.Error() != tc.wantErr) {
				t.Fatalf("error %v, want %q", err, tc.wantErr)
			}
			if v != tc.want {
				t.Fatalf("values %v, want %v", v, tc.want)
			}
		})
	}
}
