package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/engine/channelkit"
)

// Field length limits of a message request, in bytes.
const (
	maxIDLen    = 128
	maxNameLen  = 256
	maxURLLen   = 2048
	metaClient  = "client_id"
	metaCallbck = "callback_url"
)

// MessageRequest is the JSON body of POST /v1/messages.
type MessageRequest struct {
	// User is the sender's id on the integrator's side (required).
	User string `json:"user"`
	// Name is the sender's display name.
	Name string `json:"name,omitempty"`
	// Conversation groups messages into one session; default User.
	Conversation string `json:"conversation,omitempty"`
	// Thread optionally splits a conversation.
	Thread string `json:"thread,omitempty"`
	// Text is the message (required, not blank).
	Text string `json:"text"`
	// ID is the client's message id, the deduplication key: a retry with
	// the same id is not answered twice and gets the stored answer.
	ID string `json:"id,omitempty"`
	// CallbackURL switches to asynchronous mode: 202 at once, the answer
	// POSTed there, signed.
	CallbackURL string `json:"callback_url,omitempty"`
}

// MessageResponse is the JSON answer of POST /v1/messages.
type MessageResponse struct {
	// ID is the client's message id (generated when the request had none).
	ID string `json:"id"`
	// Status: answered, notified (a notice ended the request, e.g. an
	// approval question), pairing_required, queued (not answered yet:
	// retry with the same id, or wait for the callback), duplicate,
	// ignored, handled.
	Status string `json:"status"`
	// Reply is the answer's text (several replies of one turn joined by a
	// blank line).
	Reply string `json:"reply,omitempty"`
	// Failed is true when the turn failed (the model or a tool failed,
	// a time limit passed); the reply or notices say why.
	Failed bool `json:"failed,omitempty"`
	// Notices are system messages to the sender (pairing code, ...).
	Notices []string `json:"notices,omitempty"`
}

// errorResponse is the JSON body of every 4xx/5xx answer.
type errorResponse struct {
	Error string `json:"error"`
	ID    string `json:"id,omitempty"`
}

func (w *Server) handleMessage(rw http.ResponseWriter, r *http.Request) {
	sink := w.srv.Sink()
	if sink == nil {
		writeError(rw, http.StatusServiceUnavailable, "channel not running")
		return
	}
	body, err := w.readAuthenticated(rw, r)
	if err != nil {
		writeAuthError(rw, err)
		return
	}
	if err := channelkit.CheckJSONContentType(r.Header.Get("Content-Type")); err != nil {
		writeError(rw, http.StatusUnsupportedMediaType, err.Error())
		return
	}
	req, err := decodeRequest(body)
	if err != nil {
		writeError(rw, http.StatusBadRequest, err.Error())
		return
	}
	if req.CallbackURL != "" {
		if w.secret == nil {
			writeError(rw, http.StatusBadRequest, "callback_url needs a signing secret configured on the server")
			return
		}
		if _, err := checkCallbackURL(req.CallbackURL, w.opts.CallbackHosts, w.opts.AllowLoopbackCallbacks); err != nil {
			writeError(rw, http.StatusBadRequest, "callback_url: "+err.Error())
			return
		}
	}
	w.serveMessage(rw, r, sink, req)
}

// serveMessage hands a valid request to the engine and answers it.
func (w *Server) serveMessage(rw http.ResponseWriter, r *http.Request, sink engine.Sink, req MessageRequest) {
	if req.ID == "" {
		req.ID = engine.NewID()
	}
	if req.Conversation == "" {
		req.Conversation = req.User
	}
	in := engine.Inbound{
		Channel:      w.opts.Name,
		MessageID:    messageID(req.User, req.ID),
		Conversation: req.Conversation,
		Thread:       req.Thread,
		Sender:       engine.Sender{ID: req.User, DisplayName: req.Name},
		Direct:       true,
		Text:         req.Text,
		Meta:         map[string]string{metaClient: req.ID},
		ReceivedAt:   w.now(),
	}
	async := req.CallbackURL != ""
	var wt *waiter
	if async {
		in.Meta[metaCallbck] = req.CallbackURL
		w.callbacks.put(in.MessageID, req.CallbackURL)
	} else {
		// Register before Accept: the answer may come before it returns.
		wt = w.waiters.Acquire(in.MessageID, newWaiter)
		defer w.waiters.Release(in.MessageID)
	}
	receipt, err := sink.Accept(r.Context(), in)
	if err != nil {
		if async {
			w.callbacks.remove(in.MessageID)
		}
		w.log.Warn("webhook: message not accepted", "user", req.User, "id", req.ID, "err", err)
		w.srv.Health().Error(err)
		channelkit.WriteJSON(rw, http.StatusServiceUnavailable, errorResponse{Error: "message not accepted, retry with the same id", ID: req.ID})
		return
	}
	w.srv.Health().Inbound()
	w.waiters.Bind(receipt.ID, in.MessageID)
	resp := MessageResponse{ID: req.ID, Status: string(receipt.Status)}

	switch receipt.Status {
	case engine.Denied:
		w.callbacks.remove(in.MessageID) // nothing will be sent
		channelkit.WriteJSON(rw, http.StatusForbidden, errorResponse{Error: "this sender may not use the assistant", ID: req.ID})
		return
	case engine.Ignored:
		w.callbacks.remove(in.MessageID)
		channelkit.WriteJSON(rw, http.StatusAccepted, resp)
		return
	case engine.Handled:
		// A control command (/stop, /new): its answer is a notice.
		if async {
			channelkit.WriteJSON(rw, http.StatusOK, resp)
			return
		}
		w.await(rw, r, wt, resp, http.StatusOK)
		return
	case engine.Duplicate:
		if res, ok := w.storedResult(r.Context(), receipt.ID); ok {
			channelkit.WriteJSON(rw, http.StatusOK, fill(resp, res))
			return
		}
		resp.Status = string(engine.Queued)
	case engine.Queued, engine.PairingRequired:
	default:
		w.log.Warn("webhook: unknown receipt status", "status", receipt.Status)
		channelkit.WriteJSON(rw, http.StatusAccepted, resp)
		return
	}
	if async {
		channelkit.WriteJSON(rw, http.StatusAccepted, resp)
		return
	}
	w.await(rw, r, wt, resp, http.StatusAccepted)
}

// await answers a synchronous request once its message is answered, with
// pendingCode (202: the message is stored and will be answered) when
// ReplyTimeout passes or Run stops first, and with nothing when the client
// has gone.
func (w *Server) await(rw http.ResponseWriter, r *http.Request, wt *waiter, resp MessageResponse, pendingCode int) {
	timer := time.NewTimer(w.opts.ReplyTimeout)
	defer timer.Stop()
	select {
	case <-wt.done:
		channelkit.WriteJSON(rw, http.StatusOK, fill(resp, wt.result()))
	case <-timer.C:
		channelkit.WriteJSON(rw, pendingCode, resp)
	case <-w.stopping():
		channelkit.WriteJSON(rw, pendingCode, resp)
	case <-r.Context().Done():
	}
}

// fill completes a response with a received answer.
func fill(resp MessageResponse, res result) MessageResponse {
	resp.Reply = strings.Join(res.replies, "\n\n")
	resp.Failed = res.failed
	resp.Notices = res.notices
	switch resp.Status {
	case string(engine.PairingRequired), string(engine.Handled):
	default:
		if res.final {
			resp.Status = "answered"
		} else {
			resp.Status = "notified"
		}
	}
	return resp
}

// storedResult looks up the stored answer of an earlier, duplicate
// message; ok when it is complete.
func (w *Server) storedResult(ctx context.Context, inboundID int64) (result, bool) {
	if w.opts.Replies == nil || inboundID == 0 {
		return result{}, false
	}
	outs, err := w.opts.Replies(ctx, inboundID)
	if err != nil {
		w.log.Warn("webhook: stored replies lookup failed", "inbound", inboundID, "err", err)
		return result{}, false
	}
	var res result
	for _, o := range outs {
		res.add(o)
	}
	return res, res.done()
}

// decodeRequest parses and validates a body, naming what is wrong.
func decodeRequest(body []byte) (MessageRequest, error) {
	var req MessageRequest
	if len(bytes.TrimSpace(body)) == 0 {
		return req, errors.New("empty body: want a JSON object")
	}
	if !utf8.Valid(body) {
		return req, errors.New("body is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return req, jsonError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return req, errors.New("malformed JSON: unexpected data after the object")
	}
	return req, validate(req)
}

// jsonError rewrites a decoding error for the client.
func jsonError(err error) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return fmt.Errorf("malformed JSON at byte %d: %s", syntax.Offset, strings.TrimPrefix(syntax.Error(), "json: "))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errors.New("malformed JSON: unexpected end of input")
	case errors.As(err, &typ):
		if typ.Field == "" {
			return fmt.Errorf("body must be a JSON object, got %s", typ.Value)
		}
		return fmt.Errorf("field %q must be a %s, got %s", typ.Field, typ.Type, typ.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return fmt.Errorf("unknown field %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
	}
	return fmt.Errorf("malformed JSON: %s", strings.TrimPrefix(err.Error(), "json: "))
}

// validate checks the fields of a decoded request.
func validate(req MessageRequest) error {
	if strings.TrimSpace(req.User) == "" {
		return errors.New(`field "user" is required`)
	}
	if strings.TrimSpace(req.Text) == "" {
		return errors.New(`field "text" is empty`)
	}
	if strings.ContainsRune(req.Text, 0) {
		return errors.New(`field "text" contains a NUL character`)
	}
	fields := []struct {
		name, value string
		max         int
	}{
		{"user", req.User, maxNameLen},
		{"name", req.Name, maxNameLen},
		{"conversation", req.Conversation, maxNameLen},
		{"thread", req.Thread, maxNameLen},
		{"id", req.ID, maxIDLen},
		{"callback_url", req.CallbackURL, maxURLLen},
	}
	for _, f := range fields {
		if len(f.value) > f.max {
			return fmt.Errorf("field %q is longer than %d bytes", f.name, f.max)
		}
		if strings.IndexFunc(f.value, unicode.IsControl) >= 0 {
			return fmt.Errorf("field %q contains control characters", f.name)
		}
	}
	return nil
}

func writeError(rw http.ResponseWriter, status int, msg string) {
	channelkit.WriteJSON(rw, status, errorResponse{Error: msg})
}
