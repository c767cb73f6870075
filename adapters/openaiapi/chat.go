package openaiapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/engine/channelkit"
)

// Meta keys of the inbound messages the API makes.
const metaToken = "api_token"

// finishStop is the finish reason of every answer: Hearth runs its own
// tools, so a client never sees tool_calls.
const finishStop = "stop"

func (s *Server) handleChat(rw http.ResponseWriter, r *http.Request) {
	sink := s.srv.Sink()
	if sink == nil {
		writeFault(rw, newFault(http.StatusServiceUnavailable, typeServer, "", codeUnavailable, "the API channel is not running"))
		return
	}
	tok, f := s.authenticate(r)
	if f != nil {
		writeFault(rw, f)
		return
	}
	if f := checkContentType(r.Header.Get("Content-Type")); f != nil {
		writeFault(rw, f)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(rw, r.Body, s.opts.MaxBodyBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			writeFault(rw, badRequest("", fmt.Sprintf("request body too large: the limit is %d bytes", s.opts.MaxBodyBytes)))
			return
		}
		writeFault(rw, badRequest("", "could not read the request body: "+err.Error()))
		return
	}
	req, f := parseRequest(body)
	if f != nil {
		writeFault(rw, f)
		return
	}
	if req.model != s.opts.Model {
		writeFault(rw, newFault(http.StatusNotFound, typeInvalidRequest, "model", codeModelNotFound,
			fmt.Sprintf("the model %q does not exist; this server offers %q", req.model, s.opts.Model)))
		return
	}
	conv, f := s.conversation(r, req)
	if f != nil {
		writeFault(rw, f)
		return
	}
	if err := s.ensureIdentity(r.Context(), tok.UserID); err != nil {
		s.log.Error("openaiapi: identity of the token's user", "token", tok.ID, "err", err)
		if errors.Is(err, errIdentityTaken) {
			writeFault(rw, newFault(http.StatusForbidden, typePermission, "", "identity_conflict", "this token's user cannot use the API: its identity belongs to another user (see the log)"))
			return
		}
		writeFault(rw, newFault(http.StatusServiceUnavailable, typeServer, "", codeUnavailable, "the store is unavailable; try again"))
		return
	}
	s.serveChat(rw, r, sink, tok, conv, req)
}

// conversation names the session: the header, else the "user" field,
// else the default.
func (s *Server) conversation(r *http.Request, req parsedRequest) (string, *fault) {
	if h := r.Header.Get(HeaderConversation); h != "" {
		return h, conversationName(h, HeaderConversation)
	}
	if req.user != "" {
		return req.user, conversationName(req.user, "user")
	}
	return DefaultConversation, nil
}

// serveChat hands a valid request to the engine and answers it.
func (s *Server) serveChat(rw http.ResponseWriter, r *http.Request, sink engine.Sink, tok engine.APIToken, conv string, req parsedRequest) {
	in := engine.Inbound{
		Channel:      s.opts.Name,
		MessageID:    engine.NewID(),
		Conversation: conv,
		Sender:       engine.Sender{ID: tok.UserID},
		Direct:       true,
		Text:         req.text,
		Meta:         map[string]string{metaToken: tok.ID},
		ReceivedAt:   s.now(),
	}
	// Register before Accept: the answer may come before it returns.
	w := s.waiters.Acquire(in.MessageID, func() *waiter { return newWaiter(req.stream) })
	defer s.waiters.Release(in.MessageID)
	receipt, err := sink.Accept(r.Context(), in)
	if err != nil {
		if errors.Is(err, engine.ErrInvalidInbound) {
			writeFault(rw, badRequest("messages", err.Error()))
			return
		}
		s.log.Warn("openaiapi: message not accepted", "user", tok.UserID, "err", err)
		s.srv.Health().Error(err)
		writeFault(rw, newFault(http.StatusServiceUnavailable, typeServer, "", codeUnavailable, "the message was not accepted; try again"))
		return
	}
	s.srv.Health().Inbound()
	switch receipt.Status {
	case engine.Queued, engine.Handled, engine.Duplicate:
	case engine.Denied, engine.PairingRequired:
		writeFault(rw, newFault(http.StatusForbidden, typePermission, "", "access_denied", "this token's user may not use the assistant"))
		return
	default:
		s.log.Warn("openaiapi: message not answered", "status", receipt.Status)
		writeFault(rw, newFault(http.StatusInternalServerError, typeServer, "", "not_answered",
			fmt.Sprintf("the message was not answered (%s)", receipt.Status)))
		return
	}
	id := "chatcmpl-" + in.MessageID
	if req.stream {
		s.streamAnswer(rw, r, w, req, id)
		return
	}
	s.awaitAnswer(rw, r, w, req, id)
}

// awaitAnswer writes the complete answer as one chat.completion.
func (s *Server) awaitAnswer(rw http.ResponseWriter, r *http.Request, w *waiter, req parsedRequest, id string) {
	timer := time.NewTimer(s.opts.ReplyTimeout)
	defer timer.Stop()
	select {
	case <-w.done:
	case <-timer.C:
		writeFault(rw, timeoutFault(s.opts.ReplyTimeout))
		return
	case <-s.stopping():
		writeFault(rw, shutdownFault())
		return
	case <-r.Context().Done():
		return
	}
	out := w.answer()
	if out.Error {
		writeFault(rw, newFault(http.StatusInternalServerError, typeServer, "", codeTurnFailed, out.Text))
		return
	}
	channelkit.WriteJSON(rw, http.StatusOK, completion{
		ID: id, Object: "chat.completion", Created: s.now().Unix(), Model: s.opts.Model,
		Choices: []choice{{Message: responseMessage{Role: "assistant", Content: out.Text}, FinishReason: finishStop}},
		Usage:   estimateUsage(req.text, out.Text),
	})
}

func timeoutFault(d time.Duration) *fault {
	return newFault(http.StatusGatewayTimeout, typeServer, "", codeTimeout,
		fmt.Sprintf("no answer within %s; the message is kept and its answer will be in the conversation's history", d))
}

func shutdownFault() *fault {
	return newFault(http.StatusServiceUnavailable, typeServer, "", codeUnavailable,
		"the server is shutting down; the message is kept and will be answered into the conversation's history")
}

// estimateUsage approximates token counts at four bytes per token.
func estimateUsage(in, out string) usage {
	p, c := (len(in)+3)/4, (len(out)+3)/4
	return usage{PromptTokens: p, CompletionTokens: c, TotalTokens: p + c}
}

// sseWriter writes chat.completion.chunk events.
type sseWriter struct {
	rw      http.ResponseWriter
	fl      http.Flusher
	id      string
	model   string
	created int64
	usage   bool
	err     error // the first write error (the client left)
}

func (e *sseWriter) event(data []byte) {
	if e.err != nil {
		return
	}
	buf := make([]byte, 0, len(data)+8)
	buf = append(buf, "data: "...)
	buf = append(buf, data...)
	buf = append(buf, '\n', '\n')
	if _, err := e.rw.Write(buf); err != nil {
		e.err = err
		return
	}
	e.fl.Flush()
}

func (e *sseWriter) chunk(d delta, finish *string, u *usage) {
	c := chunk{ID: e.id, Object: "chat.completion.chunk", Created: e.created, Model: e.model,
		Choices: []chunkChoice{{Delta: d, FinishReason: finish}}}
	if e.usage {
		c.Usage = json.RawMessage("null")
	}
	if u != nil {
		c.Choices = []chunkChoice{}
		c.Usage, _ = json.Marshal(u)
	}
	data, err := json.Marshal(c)
	if err != nil {
		e.err = err
		return
	}
	e.event(data)
}

func (e *sseWriter) content(text string) {
	if text != "" {
		e.chunk(delta{Content: &text}, nil, nil)
	}
}

func (e *sseWriter) fail(f *fault) {
	data, _ := json.Marshal(errorBody{Error: f.err})
	e.event(data)
	e.done()
}

func (e *sseWriter) done() { e.event([]byte("[DONE]")) }

func (e *sseWriter) comment() {
	if e.err != nil {
		return
	}
	if _, err := io.WriteString(e.rw, ": keep-alive\n\n"); err != nil {
		e.err = err
		return
	}
	e.fl.Flush()
}

// streamAnswer writes the answer as Server-Sent Events while it arrives:
// a role chunk, content chunks, a chunk with the finish reason, a usage
// chunk when asked for, then [DONE].
func (s *Server) streamAnswer(rw http.ResponseWriter, r *http.Request, w *waiter, req parsedRequest, id string) {
	fl, ok := rw.(http.Flusher)
	if !ok {
		writeFault(rw, newFault(http.StatusInternalServerError, typeServer, "", "", "streaming is not supported by this connection"))
		return
	}
	h := rw.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("Connection", "keep-alive")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	rw.WriteHeader(http.StatusOK)
	e := &sseWriter{rw: rw, fl: fl, id: id, model: s.opts.Model, created: s.now().Unix(), usage: req.includeUsage}
	e.chunk(delta{Role: "assistant", Content: new(string)}, nil, nil)

	keep := time.NewTicker(s.opts.KeepAlive)
	defer keep.Stop()
	timer := time.NewTimer(s.opts.ReplyTimeout)
	defer timer.Stop()
	var shown int
	for e.err == nil {
		text, final, complete := w.take()
		e.content(text)
		shown += len(text)
		if complete {
			if final.Error {
				e.fail(newFault(http.StatusInternalServerError, typeServer, "", codeTurnFailed, final.Text))
				return
			}
			stop := finishStop
			e.chunk(delta{}, &stop, nil)
			if req.includeUsage {
				u := estimateUsage(req.text, final.Text)
				e.chunk(delta{}, nil, &u)
			}
			e.done()
			return
		}
		select {
		case <-w.notify:
		case <-keep.C:
			e.comment()
		case <-timer.C:
			e.fail(timeoutFault(s.opts.ReplyTimeout))
			return
		case <-s.stopping():
			e.fail(shutdownFault())
			return
		case <-r.Context().Done():
			return
		}
	}
	s.log.Debug("openaiapi: stream ended early; the client left", "id", id, "bytes", shown, "err", e.err)
}
