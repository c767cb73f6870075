package main

import (
	"context"
	"fmt"
	"io"

	"github.com/hearthbot/hearth/bot"
	"github.com/hearthbot/hearth/engine/leak"
)

// maxCheckBytes bounds what `hearth safety check` reads from stdin.
const maxCheckBytes = 16 << 20

// runSafety is `hearth safety check [--source KIND]`: it reads text on
// stdin and prints the safety layer's verdict as one JSON object, the same
// check the agent loop applies to content from that source.
func runSafety(_ context.Context, e env) error {
	fs := newFlags("safety")
	source := fs.String("source", "tool", "where the text comes from: user, tool, web, mcp, channel or file")
	if err := parse(fs, e); err != nil {
		return helpOK(err)
	}
	if fs.NArg() != 1 || fs.Arg(0) != "check" {
		return usageError{"usage: hearth safety check [--source web|tool|user] < TEXT"}
	}
	switch *source {
	case "user", "tool", "web", "mcp", "channel", "file":
	default:
		return usageError{fmt.Sprintf("--source %q: must be user, tool, web, mcp, channel or file", *source)}
	}
	cfg, _, err := load(fs, e)
	if err != nil {
		return err
	}
	g, err := bot.NewSafetyGuard(cfg, leak.New(leak.Options{}), nil)
	if err != nil {
		return err
	}
	text, err := io.ReadAll(io.LimitReader(e.stdin, maxCheckBytes+1))
	if err != nil {
		return fmt.Errorf("reading stdin: %w", err)
	}
	if len(text) > maxCheckBytes {
		return fmt.Errorf("input is larger than %d bytes", maxCheckBytes)
	}
	out, err := g.Check(string(text), *source).JSON()
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(e.stdout, string(out))
	return err
}
