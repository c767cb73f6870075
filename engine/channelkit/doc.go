// Package channelkit is the machinery every channel adapter shares, native or
// WASM: a per-conversation outbound rate limiter that queues rather than
// drops, retry with backoff that honours a platform's retry-after, a
// supervisor that reconnects with backoff and restarts a connection whose
// liveness watchdog fires, a health tracker behind engine.ChannelHealth, a
// small Markdown parser the adapters render into their platform's dialect,
// and a splitter that cuts long Markdown at a length limit without breaking
// fenced code blocks.
//
// Time comes from an injected Clock everywhere, so tests drive it with the
// fake clock in package kittest and never sleep.
//
// The package imports only the standard library and engine.
package channelkit
