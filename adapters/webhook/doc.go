// Package webhook is Hearth's HTTP channel: integrators POST messages to
// /v1/messages and get the answer in the response (synchronous mode) or
// POSTed to a callback URL they named (asynchronous mode). It also serves
// GET /healthz (the process is alive) and GET /readyz (Options.Ready).
//
// # Authentication
//
// Every POST carries either "Authorization: Bearer <token>" or a
// signature: X-Hearth-Timestamp (unix seconds) and
// X-Hearth-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">,
// keyed with the shared secret (see Sign and Verify). A timestamp more than
// five minutes away from the server clock is refused. Failures answer 401
// with a JSON error. The channel refuses to start without a token or a
// secret, and binds to 127.0.0.1:8787 unless told otherwise.
//
// # Request
//
//	POST /v1/messages
//	{"user": "alice", "name": "Alice", "conversation": "c1", "thread": "t",
//	 "text": "hello", "id": "client-msg-1", "callback_url": "https://..."}
//
// user and text are required; conversation defaults to user; id is the
// deduplication key (scoped to the user): a retry with the same id is not
// answered twice and returns the stored answer. Unknown fields, malformed
// JSON, invalid UTF-8 and blank text answer 400 naming the problem; a body
// over the limit 413.
//
// # Response
//
// Synchronous: 200 {"id", "status": "answered", "reply": "...",
// "notices": [...], "failed": bool} once the turn ends, or 202
// {"id", "status": "queued"} after the reply timeout (retry with the same
// id later). An unknown sender gets 200 {"status": "pairing_required",
// "notices": ["...code..."]}; a refused sender 403.
//
// Asynchronous (callback_url, whose host must be allowlisted): 202 at
// once; every reply and notice is then POSTed to the callback as a
// CallbackEvent, signed with the same scheme, with X-Hearth-Delivery as
// the idempotency key, retried with backoff on network errors, 408, 429
// and 5xx.
package webhook
