// Package adapters is the home of Hearth's native channel adapters, one
// sub-package per platform (repl, webhook, telegram, slack, ...). Each
// adapter implements engine.Channel and asserts at compile time which
// optional abilities (engine.Streamer, engine.Editor, engine.Typer,
// engine.HealthReporter) it offers. Adapters import engine and their
// platform's client library, never each other; the composition root (bot)
// wires them to the engine.
package adapters
