// Package openaiapi is Hearth's OpenAI-compatible API: a channel that
// serves POST /v1/chat/completions (JSON and Server-Sent Events streaming)
// and GET /v1/models in the OpenAI wire format, so that any
// OpenAI-compatible client (an SDK, a chat UI, an editor plugin) can talk
// to a user's Hearth with its memory and tools.
//
// # Authentication
//
// Every request carries "Authorization: Bearer hth_..." — a per-user API
// token made by `hearth tokens create` (see engine.APIToken). The server
// hashes the presented token and looks the hash up in the store, so the
// time a lookup takes does not depend on how much of a token an attacker
// guessed; revoked tokens are not found. Anything else answers 401 in
// OpenAI's error shape. The token's user is the sender: the channel links
// the identity (channel "api", platform id = user id) to that user on
// first use, so the access gate admits it like any known identity.
//
// # Semantics
//
// Hearth keeps its own history, memory and tools per session, so only the
// request's last user message is the turn's input; earlier messages in
// the request are not replayed. The session is the token user's
// conversation named by the X-Hearth-Conversation header, else the
// request's "user" field, else "api": give each chat of a client its own
// name, or send "/new" to start over. A user's sessions are theirs alone:
// two tokens of different users never share one, whatever names they use.
//
// Non-streaming requests wait for the turn's final reply (or a notice,
// which ends the request too); streaming requests get every piece of text
// as a chat.completion.chunk as the model produces it (the channel is an
// engine.Streamer), then a chunk with finish_reason "stop" and
// "data: [DONE]". A turn that fails (the model is down, the turn's time
// limit passed) answers an OpenAI error (in a stream: a data event with an
// "error" object). The "usage" reported is an estimate (about four bytes
// per token of the input message and the answer): the provider's counts
// are not carried to channels.
//
// Bad input (malformed JSON, invalid UTF-8, a body over the limit, no user
// message, a non-text content part, n > 1) answers 400 naming the
// problem; an unknown model 404. A client that disconnects leaves nothing
// behind: its answer is still stored in the session's history.
//
// The server listens on 127.0.0.1:8790 by default and refuses a
// non-loopback address unless Options.AllowNonLoopback is set.
package openaiapi
