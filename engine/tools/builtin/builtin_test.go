package builtin_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/engine/tools"
	"github.com/hearthbot/hearth/engine/tools/builtin"
)

// fixed is 2026-07-04 10:30:00 UTC, a Saturday, summer time in Europe.
var fixed = time.Date(2026, time.July, 4, 10, 30, 0, 0, time.UTC)

func TestInfo(t *testing.T) {
	r := tools.New(tools.Options{})
	for _, tl := range builtin.Tools(nil) {
		info := tl.Info()
		if !info.Parallel || info.Source != builtin.Source || info.NeedsApproval || info.Sensitive || info.Untrusted {
			t.Errorf("%s: unexpected policy %+v", info.Name, info)
		}
		if info.Description == "" {
			t.Errorf("%s: no description", info.Name)
		}
		if err := r.Register(tl); err != nil {
			t.Errorf("Register %s: %v", info.Name, err)
		}
	}
	if got := strings.Join(r.Names(), ","); got != "echo,time" {
		t.Fatalf("Names = %s", got)
	}
}

func TestTime(t *testing.T) {
	tool := builtin.NewTime(func() time.Time { return fixed })
	tests := []struct {
		name     string
		userTZ   string
		args     string
		isError  bool
		want     map[string]string // expected fields of the JSON output
		contains string            // substring of an error or note
	}{
		{"user timezone", "Europe/Paris", `{}`, false, map[string]string{
			"time": "2026-07-04T12:30:00+02:00", "weekday": "Saturday", "timezone": "Europe/Paris",
			"abbreviation": "CEST", "utc_offset": "+02:00"}, ""},
		{"empty args", "America/New_York", ``, false, map[string]string{
			"time": "2026-07-04T06:30:00-04:00", "weekday": "Saturday", "timezone": "America/New_York", "abbreviation": "EDT"}, ""},
		{"argument overrides user", "Europe/Paris", `{"timezone":"Asia/Tokyo"}`, false, map[string]string{
			"time": "2026-07-04T19:30:00+09:00", "timezone": "Asia/Tokyo", "abbreviation": "JST", "utc_offset": "+09:00"}, ""},
		{"date line crosses weekday", "", `{"timezone":"Pacific/Kiritimati"}`, false, map[string]string{
			"time": "2026-07-05T00:30:00+14:00", "weekday": "Sunday"}, ""},
		{"half hour offset", "Asia/Kolkata", `{}`, false, map[string]string{"utc_offset": "+05:30"}, ""},
		{"explicit UTC", "Europe/Paris", `{"timezone":"UTC"}`, false, map[string]string{"time": "2026-07-04T10:30:00Z", "timezone": "UTC"}, ""},
		{"blank argument means user timezone", "Europe/Paris", `{"timezone":"  "}`, false, map[string]string{"timezone": "Europe/Paris"}, ""},
		{"no user timezone", "", `{}`, false, map[string]string{"timezone": "UTC", "note": "the user's timezone is not set; showing UTC"}, ""},
		{"bad user timezone", "Mars/Olympus", `{}`, false, map[string]string{"timezone": "UTC",
			"note": `the user's timezone "Mars/Olympus" is not a valid IANA timezone; showing UTC`}, ""},
		{"bad argument", "Europe/Paris", `{"timezone":"Moon/Base"}`, true, nil, `unknown timezone "Moon/Base"`},
		{"Local refused", "", `{"timezone":"Local"}`, true, nil, `unknown timezone "Local"`},
		{"path refused", "", `{"timezone":"../../etc/passwd"}`, true, nil, "unknown timezone"},
		{"bad json", "", `{"timezone":`, true, nil, "invalid arguments"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := tool.Execute(context.Background(), engine.ToolInvocation{Args: json.RawMessage(tc.args), Timezone: tc.userTZ})
			if err != nil {
				t.Fatal(err)
			}
			if res.IsError != tc.isError {
				t.Fatalf("IsError = %v, want %v: %s", res.IsError, tc.isError, res.Content)
			}
			if tc.contains != "" && !strings.Contains(res.Content, tc.contains) {
				t.Errorf("content %q does not contain %q", res.Content, tc.contains)
			}
			if tc.isError {
				return
			}
			var got map[string]string
			if err := json.Unmarshal([]byte(res.Content), &got); err != nil {
				t.Fatalf("output is not a JSON object of strings: %v: %s", err, res.Content)
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("%s = %q, want %q (output %s)", k, got[k], v, res.Content)
				}
			}
			if _, err := time.Parse(time.RFC3339, got["time"]); err != nil {
				t.Errorf("time %q is not ISO 8601: %v", got["time"], err)
			}
		})
	}
}

func TestTimeThroughRegistry(t *testing.T) {
	r := tools.New(tools.Options{})
	if err := r.Register(builtin.NewTime(func() time.Time { return fixed })); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args    string
		isError bool
		want    string
	}{
		{`{}`, false, `"weekday":"Saturday"`},
		{`null`, false, `"timezone":"Europe/Berlin"`},
		{`{"timezone":7}`, true, `at "/timezone": got number, want string`},
		{`{"tz":"UTC"}`, true, "additional properties 'tz' not allowed"},
	}
	for _, tc := range tests {
		res, err := r.Execute(context.Background(), "time", engine.ToolInvocation{Args: json.RawMessage(tc.args), Timezone: "Europe/Berlin"})
		if err != nil {
			t.Fatal(err)
		}
		if res.IsError != tc.isError || !strings.Contains(res.Content, tc.want) {
			t.Errorf("args %s: result %+v, want IsError=%v containing %q", tc.args, res, tc.isError, tc.want)
		}
	}
}

func TestEcho(t *testing.T) {
	tests := []struct {
		args    string
		want    string
		isError bool
	}{
		{`{"text":"hello"}`, "hello", false},
		{`{"text":""}`, "", false},
		{`{"text":"multi\nline ✓"}`, "multi\nline ✓", false},
		{`{}`, `echo: missing required argument "text"`, true},
		{`{"text":3}`, "echo: invalid arguments", true},
		{`nope`, "echo: invalid arguments", true},
	}
	for _, tc := range tests {
		res, err := builtin.NewEcho().Execute(context.Background(), engine.ToolInvocation{Args: json.RawMessage(tc.args)})
		if err != nil {
			t.Fatal(err)
		}
		if res.IsError != tc.isError || !strings.HasPrefix(res.Content, tc.want) || (!tc.isError && res.Content != tc.want) {
			t.Errorf("args %s: result %+v, want IsError=%v content %q", tc.args, res, tc.isError, tc.want)
		}
	}
}

func TestLoadTimezone(t *testing.T) {
	for _, name := range []string{"Europe/Paris", "UTC", "America/Argentina/Buenos_Aires"} {
		if _, err := builtin.LoadTimezone(name); err != nil {
			t.Errorf("LoadTimezone(%q) = %v", name, err)
		}
	}
	for _, name := range []string{"", "Local", "Nowhere/City", "/etc/localtime", "Europe/../UTC"} {
		if _, err := builtin.LoadTimezone(name); err == nil {
			t.Errorf("LoadTimezone(%q) accepted", name)
		}
	}
}
