// Package builtin holds the tools compiled into Hearth: time and echo.
// They depend only on engine; the composition root registers them:
//
//	for _, t := range builtin.Tools(nil) {
//		if err := registry.Register(t); err != nil { ... }
//	}
package builtin

import (
	"time"

	"github.com/hearthbot/hearth/engine"
)

// Source is the ToolInfo.Source of every built-in tool.
const Source = "builtin"

// Tools returns every built-in tool. now is the clock of the time tool
// (nil: time.Now).
func Tools(now func() time.Time) []engine.Tool {
	return []engine.Tool{NewTime(now), NewEcho()}
}
