package schedule

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hearthbot/hearth/engine"
)

func mustLoc(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := LoadTimezone(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

func cronOf(t *testing.T, expr, tz string) timing {
	t.Helper()
	tm, err := routineTiming(engine.Routine{Schedule: engine.Schedule{Kind: engine.ScheduleCron, Cron: expr, Timezone: tz}})
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

// Europe/Paris changes to summer time on 2026-03-29 at 02:00 (CET→CEST)
// and back on 2026-10-25 at 03:00 (CEST→CET).
func TestCronAcrossDaylightSaving(t *testing.T) {
	cases := []struct {
		name, expr, tz string
		after          string
		want           []string // the next fires, in UTC
	}{
		{"9:00 every day keeps local time into summer", "0 9 * * *", "Europe/Paris", "2026-03-27T09:00:00Z",
			[]string{"2026-03-28T08:00:00Z", "2026-03-29T07:00:00Z", "2026-03-30T07:00:00Z"}},
		{"9:00 every day keeps local time into winter", "0 9 * * *", "Europe/Paris", "2026-10-24T08:00:00Z",
			[]string{"2026-10-25T08:00:00Z", "2026-10-26T08:00:00Z"}},
		{"02:30 does not exist on the spring-forward night", "30 2 * * *", "Europe/Paris", "2026-03-28T02:00:00Z",
			[]string{"2026-03-30T00:30:00Z"}},
		{"02:30 happens twice on the fall-back night but fires once", "30 2 * * *", "Europe/Paris", "2026-10-24T01:00:00Z",
			[]string{"2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"}},
		{"weekdays at 8 in New York across its change (2026-03-08)", "0 8 * * 1-5", "America/New_York", "2026-03-06T14:00:00Z",
			[]string{"2026-03-09T12:00:00Z", "2026-03-10T12:00:00Z"}},
		{"Fridays at 17:00", "0 17 * * 5", "Europe/Paris", "2026-03-23T00:00:00Z",
			[]string{"2026-03-27T16:00:00Z", "2026-04-03T15:00:00Z"}},
		{"descriptor", "@daily", "Asia/Tokyo", "2026-01-01T00:00:00Z",
			[]string{"2026-01-01T15:00:00Z", "2026-01-02T15:00:00Z"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tm := cronOf(t, c.expr, c.tz)
			at := utc(c.after)
			for _, w := range c.want {
				n := tm.next(at)
				if !n.Equal(utc(w)) || n.Location() != time.UTC {
					t.Fatalf("next(%s) = %s, want %s", at.Format(time.RFC3339), n, w)
				}
				// prev at the fire time, and just after it, is that time.
				if p := tm.prev(n); !p.Equal(n) {
					t.Errorf("prev(%s) = %s", n, p)
				}
				if p := tm.prev(n.Add(time.Minute)); !p.Equal(n) {
					t.Errorf("prev(%s + 1m) = %s, want %s", n, p, n)
				}
				at = n
			}
		})
	}
}

func TestCronPrevFindsTheLatestFire(t *testing.T) {
	cases := []struct {
		expr, now, want string
	}{
		{"*/5 * * * *", "2026-05-01T10:07:30Z", "2026-05-01T10:05:00Z"},
		{"0 9 * * *", "2026-05-01T06:00:00Z", "2026-04-30T07:00:00Z"},        // Paris summer: 09:00 = 07:00Z
		{"0 9 1 * *", "2026-05-20T00:00:00Z", "2026-05-01T07:00:00Z"},        // monthly
		{"0 9 29 2 *", "2026-05-20T00:00:00Z", "2024-02-29T08:00:00Z"},       // leap days only
		{"0 9 * * 1", "2026-05-04T06:59:59Z", "2026-04-27T07:00:00Z"},        // Monday, just before
		{"30 2 * * *", "2026-10-25T02:00:00Z", "2026-10-25T00:30:00Z"},       // the first 02:30 of the fall-back night
		{"0 12 * * *", "2026-03-29T10:00:00Z", "2026-03-29T10:00:00Z"},       // exactly at the fire time
		{"0 0 1 1 *", "2026-06-01T00:00:00Z", "2025-12-31T23:00:00Z"},        // yearly
		{"15 14 * * 0", "2026-03-29T11:00:00Z", "2026-03-22T13:15:00Z"},      // a week back, across the change
		{"0 9 * * *", "2026-03-29T07:00:00Z", "2026-03-29T07:00:00Z"},        // first summer 09:00
		{"0 9 * * *", "2026-03-29T06:59:59Z", "2026-03-28T08:00:00Z"},        // last winter 09:00
		{"0 9 * * *", "2026-01-01T00:00:00+01:00", "2025-12-31T08:00:00Z"},   // input in another zone
		{"59 23 31 12 *", "2026-06-01T00:00:00Z", "2025-12-31T22:59:00Z"},    // end of year
		{"0 8-18 * * 1-5", "2026-05-02T12:00:00Z", "2026-05-01T16:00:00Z"},   // Saturday: Friday 18:00
		{"*/15 9-17 * * *", "2026-05-01T07:31:00Z", "2026-05-01T07:30:00Z"},  // quarter hours
		{"0 9 * * *", "2026-05-01T07:00:00.5Z", "2026-05-01T07:00:00Z"},      // sub-second after
		{"5 4 * * sun", "2026-05-01T00:00:00Z", "2026-04-26T02:05:00Z"},      // named weekday
		{"0 0 * * *", "2026-03-29T00:00:00Z", "2026-03-28T23:00:00Z"},        // midnight Paris
		{"0 9 * * *", "2020-02-29T12:00:00Z", "2020-02-29T08:00:00Z"},        // leap year date
		{"0 9 * * *", "2026-10-25T08:00:00Z", "2026-10-25T08:00:00Z"},        // first winter 09:00
		{"0 9 * * *", "2026-10-25T07:59:59Z", "2026-10-24T07:00:00Z"},        // last summer 09:00
		{"0 */6 * * *", "2026-03-29T03:30:00Z", "2026-03-28T23:00:00Z"},      // local midnight; 06:00 CEST is 04:00Z
		{"0 */6 * * *", "2026-03-29T04:00:00Z", "2026-03-29T04:00:00Z"},      // ... exactly
		{"0 9 * * *", "2026-07-01T12:00:00+09:00", "2026-06-30T07:00:00Z"},   // 03:00Z, before 07:00Z
		{"0 9 * * *", "2026-07-01T12:00:00-09:00", "2026-07-01T07:00:00Z"},   // 21:00Z, after 07:00Z
		{"0 9 * * *", "2026-07-01T07:00:00.000001Z", "2026-07-01T07:00:00Z"}, // a microsecond after
	}
	tm := func(expr string) timing { return cronOf(t, expr, "Europe/Paris") }
	for _, c := range cases {
		now, err := time.Parse(time.RFC3339Nano, c.now)
		if err != nil {
			t.Fatal(err)
		}
		if got := tm(c.expr).prev(now); !got.Equal(utc(c.want)) {
			t.Errorf("%q prev(%s) = %s, want %s", c.expr, c.now, got.Format(time.RFC3339), c.want)
		}
	}
}

func TestEveryAndOnce(t *testing.T) {
	anchor := utc("2026-05-01T10:00:00Z")
	e := everyTiming{anchor: anchor, every: 90 * time.Minute}
	for _, c := range []struct{ after, next, prev string }{
		{"2026-05-01T09:00:00Z", "2026-05-01T11:30:00Z", ""},
		{"2026-05-01T10:00:00Z", "2026-05-01T11:30:00Z", ""}, // not at creation itself
		{"2026-05-01T11:30:00Z", "2026-05-01T13:00:00Z", "2026-05-01T11:30:00Z"},
		{"2026-05-01T12:59:59Z", "2026-05-01T13:00:00Z", "2026-05-01T11:30:00Z"},
		{"2026-05-03T10:00:00Z", "2026-05-03T11:30:00Z", "2026-05-03T10:00:00Z"}, // 32 intervals later
		{"2026-05-03T10:45:00Z", "2026-05-03T11:30:00Z", "2026-05-03T10:00:00Z"},
	} {
		at := utc(c.after)
		if n := e.next(at); !n.Equal(utc(c.next)) {
			t.Errorf("every next(%s) = %s, want %s", c.after, n, c.next)
		}
		want := time.Time{}
		if c.prev != "" {
			want = utc(c.prev)
		}
		if p := e.prev(at); !p.Equal(want) {
			t.Errorf("every prev(%s) = %s, want %s", c.after, p, want)
		}
	}
	o := onceTiming{at: utc("2026-05-01T17:00:00Z")}
	if n := o.next(utc("2026-05-01T16:59:59Z")); !n.Equal(o.at) {
		t.Errorf("once next before = %s", n)
	}
	if n := o.next(o.at); !n.IsZero() {
		t.Errorf("once next at its time = %s, want never", n)
	}
	if p := o.prev(utc("2026-05-01T16:00:00Z")); !p.IsZero() {
		t.Errorf("once prev before = %s", p)
	}
	if p := o.prev(utc("2026-06-01T00:00:00Z")); !p.Equal(o.at) {
		t.Errorf("once prev after = %s", p)
	}
	// Towards gocron "never" must not be a zero time (it would loop).
	if n := (cronAdapter{o}).Next(o.at); !n.Equal(farFuture) {
		t.Errorf("adapter Next after a one-time fire = %s", n)
	}
}

func TestActiveHours(t *testing.T) {
	paris := mustLoc(t, "Europe/Paris")
	cases := []struct {
		spec    string
		in, out []string // local clock times inside and outside
		err     bool
		always  bool
	}{
		{spec: "08:00-22:00", in: []string{"08:00", "12:00", "21:59"}, out: []string{"07:59", "22:00", "23:30", "00:00"}},
		{spec: "22:00-06:00", in: []string{"22:00", "23:59", "00:00", "05:59"}, out: []string{"06:00", "12:00", "21:59"}},
		{spec: "9:30-24:00", in: []string{"09:30", "23:59"}, out: []string{"09:29", "00:00"}},
		{spec: "", always: true},
		{spec: "00:00-24:00", always: true},
		{spec: "08:00", err: true},
		{spec: "08:00-08:00", err: true},
		{spec: "25:00-26:00", err: true},
		{spec: "08:60-10:00", err: true},
		{spec: "24:00-10:00", err: true},
		{spec: "8-22", err: true},
	}
	for _, c := range cases {
		w, err := parseActiveHours(c.spec, paris)
		if c.err {
			if err == nil {
				t.Errorf("%q: no error", c.spec)
			}
			if ValidateActiveHours(c.spec) == nil {
				t.Errorf("ValidateActiveHours(%q) accepted it", c.spec)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", c.spec, err)
			continue
		}
		if (w == nil) != c.always {
			t.Errorf("%q: always = %v, want %v", c.spec, w == nil, c.always)
			continue
		}
		for _, hm := range c.in {
			if at := localClock(t, paris, hm); !w.contains(at) {
				t.Errorf("%q: %s should be active", c.spec, hm)
			}
		}
		for _, hm := range c.out {
			if at := localClock(t, paris, hm); w.contains(at) {
				t.Errorf("%q: %s should be quiet", c.spec, hm)
			}
		}
	}
}

func localClock(t *testing.T, loc *time.Location, hm string) time.Time {
	t.Helper()
	c, err := time.ParseInLocation("2006-01-02 15:04", "2026-05-01 "+hm, loc)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestHeartbeatTimingStaysInActiveHours(t *testing.T) {
	paris := mustLoc(t, "Europe/Paris")
	w, err := parseActiveHours("08:00-22:00", paris)
	if err != nil {
		t.Fatal(err)
	}
	tm := heartbeatTiming("alice", 30*time.Minute, w)
	at := utc("2026-03-28T20:40:00Z") // 21:40 in Paris, the night before the change
	var fires []time.Time
	for range 60 {
		at = tm.next(at)
		fires = append(fires, at)
	}
	off := Jitter("alice", 30*time.Minute)
	for i, f := range fires {
		if !w.contains(f) {
			t.Fatalf("fire %d at %s is outside the active hours", i, f.In(paris))
		}
		if f.Sub(jitterEpoch)%(30*time.Minute) != off {
			t.Fatalf("fire %d at %s is not on the user's jittered grid", i, f)
		}
		if i > 0 && f.Sub(fires[i-1]) != 30*time.Minute && fires[i-1].In(paris).Hour() < 21 {
			t.Fatalf("gap within the day between %s and %s", fires[i-1].In(paris), f.In(paris))
		}
	}
	// The first morning fire is within the first half hour after 08:00 CEST.
	var morning time.Time
	for _, f := range fires {
		if f.In(paris).Day() == 29 {
			morning = f
			break
		}
	}
	start := time.Date(2026, 3, 29, 8, 0, 0, 0, paris)
	if morning.Before(start) || !morning.Before(start.Add(30*time.Minute)) {
		t.Errorf("first check on the 29th at %s, want within 30m after %s", morning.In(paris), start)
	}
	// prev walks back over the night.
	if p := tm.prev(start.Add(-time.Hour)); !w.contains(p) || p.In(paris).Day() != 28 {
		t.Errorf("prev at 07:00 = %s, want the last check of the evening before", p.In(paris))
	}
}

func TestJitterSpreadsUsersEvenly(t *testing.T) {
	const users, buckets = 10000, 30
	every := 30 * time.Minute
	var count [buckets]int
	for i := range users {
		j := Jitter(fmt.Sprintf("user-%d", i), every)
		if j < 0 || j >= every {
			t.Fatalf("jitter %s out of range", j)
		}
		if j != Jitter(fmt.Sprintf("user-%d", i), every) {
			t.Fatal("jitter is not deterministic")
		}
		count[j*buckets/every]++
	}
	mean := users / buckets
	for i, c := range count {
		if c < mean*80/100 || c > mean*120/100 {
			t.Errorf("minute %d has %d users, want %d ± 20%%", i, c, mean)
		}
	}
}

func TestRoutineTimingErrors(t *testing.T) {
	for _, sc := range []engine.Schedule{
		{Kind: engine.ScheduleCron, Cron: "", Timezone: "UTC"},
		{Kind: engine.ScheduleCron, Cron: "0 9 * *", Timezone: "UTC"},
		{Kind: engine.ScheduleCron, Cron: "0 0 9 * * *", Timezone: "UTC"},
		{Kind: engine.ScheduleCron, Cron: "CRON_TZ=UTC 0 9 * * *", Timezone: "UTC"},
		{Kind: engine.ScheduleCron, Cron: "@every 5m", Timezone: "UTC"},
		{Kind: engine.ScheduleCron, Cron: "0 9 * * *", Timezone: "Mars/Olympus"},
		{Kind: engine.ScheduleCron, Cron: "0 9 * * *", Timezone: "Local"},
		{Kind: engine.ScheduleEvery, Every: 0},
		{Kind: engine.ScheduleOnce},
		{Kind: "sometimes"},
	} {
		_, err := routineTiming(engine.Routine{Schedule: sc, CreatedAt: utc("2026-01-01T00:00:00Z")})
		if !errors.Is(err, ErrInvalidSchedule) {
			t.Errorf("%+v: error %v, want ErrInvalidSchedule", sc, err)
		}
	}
}

func TestEffectivelyEmpty(t *testing.T) {
	cases := []struct {
		doc   string
		empty bool
	}{
		{"", true},
		{"# Heartbeat\n\n## Things to check\n", true},
		{"# Heartbeat\n<!-- Add one item per line, e.g.\n- check my inbox -->\n\n", true},
		{"# Heartbeat\n- \n- [ ]\n* [x]\n---\n***\n", true},
		{"   \n\t\n", true},
		{"# Heartbeat\n- Check whether my flight tomorrow is delayed\n", false},
		{"Remind me when the invoice is overdue", false},
		{"<!-- comment --> water the plants", false},
		{"# Title\n<!-- unterminated comment\n- item", true},
		{"> quote with text", false},
		{"1. call mum", false},
		// memory's seeded checklist, and the item form it suggests.
		{"# Heartbeat checklist\n\n<!-- Hearth reads this file on a schedule and tells you only when something needs attention.\n     Add items as \"- [ ] check ...\" lines; while it has only headings and comments, nothing runs. -->\n", true},
		{"# Heartbeat checklist\n- [ ] check whether the car insurance renewal came\n", false},
	}
	for _, c := range cases {
		if got := EffectivelyEmpty(c.doc); got != c.empty {
			t.Errorf("EffectivelyEmpty(%q) = %v, want %v", c.doc, got, c.empty)
		}
	}
}

func TestAlertHashNormalises(t *testing.T) {
	a := alertHash("Your flight LH123 is delayed by 2 hours!")
	for _, same := range []string{"your flight lh123 is delayed by 2 hours", "  Your  flight LH123 is delayed\nby 2 hours.  ", "**Your flight LH123 is delayed by 2 hours**"} {
		if alertHash(same) != a {
			t.Errorf("%q hashes differently", same)
		}
	}
	if alertHash("Your flight LH123 is delayed by 3 hours!") == a {
		t.Error("a different alert hashes the same")
	}
}

func TestParseEveryAndAt(t *testing.T) {
	for in, want := range map[string]time.Duration{"30m": 30 * time.Minute, "2h30m": 150 * time.Minute, "1d": 24 * time.Hour, " 2w ": 14 * 24 * time.Hour} {
		if got, err := ParseEvery(in); err != nil || got != want {
			t.Errorf("ParseEvery(%q) = %s, %v; want %s", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "0s", "-5m", "soon", "0d", "1.5d", "d"} {
		if _, err := ParseEvery(bad); !errors.Is(err, ErrInvalidSchedule) {
			t.Errorf("ParseEvery(%q) error %v", bad, err)
		}
	}
	paris := mustLoc(t, "Europe/Paris")
	for in, want := range map[string]string{
		"2026-03-27T17:00":          "2026-03-27T16:00:00Z",
		"2026-07-27 17:00":          "2026-07-27T15:00:00Z",
		"2026-07-27 17:00:30":       "2026-07-27T15:00:30Z",
		"2026-07-27T17:00:00-04:00": "2026-07-27T21:00:00Z",
	} {
		if got, err := ParseAt(in, paris); err != nil || !got.Equal(utc(want)) {
			t.Errorf("ParseAt(%q) = %s, %v; want %s", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "tomorrow", "27/03/2026 17:00", "2026-13-01T10:00"} {
		if _, err := ParseAt(bad, paris); !errors.Is(err, ErrInvalidSchedule) {
			t.Errorf("ParseAt(%q) error %v", bad, err)
		}
	}
}

func TestDescribe(t *testing.T) {
	for _, c := range []struct {
		sc   engine.Schedule
		want string
	}{
		{engine.Schedule{Kind: engine.ScheduleCron, Cron: "0 9 * * 1", Timezone: "Europe/Paris"}, "cron 0 9 * * 1 (Europe/Paris)"},
		{engine.Schedule{Kind: engine.ScheduleEvery, Every: 2 * time.Hour}, "every 2h0m0s"},
		{engine.Schedule{Kind: engine.ScheduleOnce, At: utc("2026-03-27T16:00:00Z"), Timezone: "Europe/Paris"}, "once at 2026-03-27 17:00 CET"},
	} {
		if got := Describe(c.sc); !strings.EqualFold(got, c.want) {
			t.Errorf("Describe = %q, want %q", got, c.want)
		}
	}
}
