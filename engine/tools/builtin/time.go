package builtin

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/hearthbot/hearth/engine"
)

// TimeName is the time tool's name.
const TimeName = "time"

const timeParameters = `{
  "type": "object",
  "properties": {
    "timezone": {
      "type": "string",
      "description": "IANA timezone name such as Europe/Paris or America/New_York. Defaults to the user's timezone."
    }
  },
  "additionalProperties": false
}`

// Time tells the current time in the user's timezone, or in the IANA
// timezone given as the optional "timezone" argument. Its arguments are
// all optional, so {} is a valid call.
type Time struct {
	now func() time.Time
}

var _ engine.Tool = (*Time)(nil)

// NewTime returns the time tool reading the clock now (nil: time.Now).
func NewTime(now func() time.Time) *Time {
	if now == nil {
		now = time.Now
	}
	return &Time{now: now}
}

// Info implements engine.Tool.
func (*Time) Info() engine.ToolInfo {
	return engine.ToolInfo{
		Name: TimeName,
		Description: "Get the current date and time (ISO 8601 with UTC offset, weekday and timezone). " +
			"Uses the user's timezone unless another IANA timezone is given.",
		Parameters: json.RawMessage(timeParameters),
		Parallel:   true,
		Source:     Source,
	}
}

// timeOutput is the tool's answer, as JSON.
type timeOutput struct {
	Time         string `json:"time"`
	Weekday      string `json:"weekday"`
	Timezone     string `json:"timezone"`
	Abbreviation string `json:"abbreviation"`
	UTCOffset    string `json:"utc_offset"`
	Note         string `json:"note,omitempty"`
}

// Execute implements engine.Tool. An invalid "timezone" argument is an
// error result naming it; an unusable user timezone falls back to UTC with
// a note saying so.
func (t *Time) Execute(_ context.Context, call engine.ToolInvocation) (engine.ToolResult, error) {
	var args struct {
		Timezone string `json:"timezone"`
	}
	if len(call.Args) > 0 {
		if err := json.Unmarshal(call.Args, &args); err != nil {
			return engine.ToolResult{Content: fmt.Sprintf("time: invalid arguments: %v", err), IsError: true}, nil
		}
	}

	var (
		loc  *time.Location
		note string
		err  error
	)
	switch name := strings.TrimSpace(args.Timezone); {
	case name != "":
		if loc, err = LoadTimezone(name); err != nil {
			return engine.ToolResult{Content: fmt.Sprintf("time: %v", err), IsError: true}, nil
		}
	case call.Timezone != "":
		if loc, err = LoadTimezone(call.Timezone); err != nil {
			loc, note = time.UTC, fmt.Sprintf("the user's timezone %q is not a valid IANA timezone; showing UTC", call.Timezone)
		}
	default:
		loc, note = time.UTC, "the user's timezone is not set; showing UTC"
	}

	now := t.now().In(loc)
	abbr, _ := now.Zone()
	out := timeOutput{
		Time:         now.Format(time.RFC3339),
		Weekday:      now.Weekday().String(),
		Timezone:     loc.String(),
		Abbreviation: abbr,
		UTCOffset:    now.Format("-07:00"),
		Note:         note,
	}
	b, err := json.Marshal(out)
	if err != nil {
		return engine.ToolResult{}, fmt.Errorf("time: encode: %w", err)
	}
	return engine.ToolResult{Content: string(b)}, nil
}

// LoadTimezone loads an IANA timezone by name. Unlike time.LoadLocation it
// refuses "" and "Local", which would silently mean UTC or the server's
// own zone.
func LoadTimezone(name string) (*time.Location, error) {
	if name == "" || name == "Local" {
		return nil, fmt.Errorf("unknown timezone %q: use an IANA name such as Europe/Paris or UTC", name)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("unknown timezone %q: use an IANA name such as Europe/Paris or UTC", name)
	}
	return loc, nil
}
