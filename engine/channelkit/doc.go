// Package channelkit is the machinery every channel adapter shares, native or
// WASM:
//
//   - Limiter: per-conversation outbound pacing that queues rather than
//     drops (each chat released in arrival order, at its own rate measured
//     from its previous send, then within a global budget), with Block for a
//     platform's retry-after.
//   - Pacer, Retry, RetryError, Backoff: retry of 429 and 5xx honouring
//     retry-after, through the Limiter so a chat's queue waits too.
//   - Supervisor: reconnect with backoff, and a liveness watchdog that
//     restarts a connection with no successful poll or ping within a
//     bound, logging why (ErrStalled); Permanent errors stop it.
//   - Health: the data behind engine.ChannelHealth.
//   - ParseMarkdown, ParseInline: a small parser for the Markdown models
//     write, which adapters render into their platform's dialect.
//   - Split: cut long Markdown at a length limit, preferring paragraph and
//     line boundaries, closing and reopening fenced code blocks.
//   - Streams: streaming an answer by editing posted messages, throttled,
//     continuing in new messages past the length limit.
//   - Recent: a bounded set of recently seen ids, to skip redeliveries.
//   - AttachmentStore, ExtractText: storing received files and reading the
//     text of text-like ones.
//   - HTTPServer: listening, serving with bounded timeouts, a graceful drain
//     and health, for channels served over HTTP (webhook, OpenAI API).
//   - Waiters: requests waiting for the engine's reply, correlated by the
//     inbound message id, shared by retries and released on disconnect.
//   - IsLoopbackHost, CheckJSONContentType, WriteJSON, FillDefault,
//     FillDurations: small helpers of HTTP channels and their options.
//
// Time comes from an injected Clock everywhere, so tests drive it with the
// fake clock in package kittest and never sleep.
//
// The package imports only the standard library and engine.
package channelkit
