package webhook

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Header names of the signature scheme, used for requests and callbacks.
const (
	HeaderSignature = "X-Hearth-Signature"
	HeaderTimestamp = "X-Hearth-Timestamp"
	// HeaderDelivery carries a callback's idempotency key (stable across
	// retries of one message).
	HeaderDelivery  = "X-Hearth-Delivery"
	signaturePrefix = "sha256="
)

// Authentication failures; match them with errors.Is.
var (
	ErrNoCredentials   = errors.New("missing credentials: send Authorization: Bearer <token> or X-Hearth-Timestamp and X-Hearth-Signature")
	ErrBadToken        = errors.New("invalid bearer token")
	ErrBadSignature    = errors.New("invalid signature")
	ErrStaleTimestamp  = errors.New("timestamp outside the accepted window")
	ErrBadTimestamp    = errors.New("X-Hearth-Timestamp must be unix seconds")
	errBodyTooLarge    = errors.New("request body too large")
	errUnauthenticated = errors.New("unauthenticated")
)

// Sign returns the X-Hearth-Signature value for body sent at the unix time
// ts: "sha256=" and the hex HMAC-SHA256, keyed with secret, of
// "<ts>.<body>".
func Sign(secret []byte, ts int64, body []byte) string {
	return signaturePrefix + hex.EncodeToString(mac(secret, ts, body))
}

func mac(secret []byte, ts int64, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(strconv.FormatInt(ts, 10)))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// Verify checks a signed body: timestamp is the X-Hearth-Timestamp header
// (unix seconds), signature the X-Hearth-Signature header. A timestamp
// more than maxSkew from now, in either direction, is refused (replay
// protection).
func Verify(secret []byte, timestamp, signature string, body []byte, now time.Time, maxSkew time.Duration) error {
	if timestamp == "" || signature == "" {
		return ErrNoCredentials
	}
	ts, err := strconv.ParseInt(strings.TrimSpace(timestamp), 10, 64)
	if err != nil {
		return ErrBadTimestamp
	}
	if d := now.Sub(time.Unix(ts, 0)); d > maxSkew || d < -maxSkew {
		return fmt.Errorf("%w: %s is %v away from the server clock (at most %v)", ErrStaleTimestamp, timestamp, d.Round(time.Second), maxSkew)
	}
	hexSig, ok := strings.CutPrefix(strings.TrimSpace(signature), signaturePrefix)
	if !ok {
		return fmt.Errorf("%w: want %s<hex>", ErrBadSignature, signaturePrefix)
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil || !hmac.Equal(got, mac(secret, ts, body)) {
		return ErrBadSignature
	}
	return nil
}

// checkBearer compares a bearer token in constant time (hashing first,
// so neither content nor length leaks).
func checkBearer(header string, token []byte) error {
	scheme, value, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || len(token) == 0 {
		return ErrBadToken
	}
	a := sha256.Sum256([]byte(strings.TrimSpace(value)))
	b := sha256.Sum256(token)
	if subtle.ConstantTimeCompare(a[:], b[:]) != 1 {
		return ErrBadToken
	}
	return nil
}

// readAuthenticated authenticates r and returns its body, read with the
// size limit. A bearer token is checked before the body is read; a
// signature needs the body. Errors wrap errUnauthenticated (401) or
// errBodyTooLarge (413).
func (w *Server) readAuthenticated(rw http.ResponseWriter, r *http.Request) ([]byte, error) {
	authz := r.Header.Get("Authorization")
	sig, ts := r.Header.Get(HeaderSignature), r.Header.Get(HeaderTimestamp)
	var authErr error
	switch {
	case authz != "":
		if authErr = checkBearer(authz, w.token); authErr == nil {
			return readBody(rw, r, w.opts.MaxBodyBytes)
		}
		if sig == "" {
			return nil, fmt.Errorf("%w: %w", errUnauthenticated, authErr)
		}
	case sig == "" && ts == "":
		return nil, fmt.Errorf("%w: %w", errUnauthenticated, ErrNoCredentials)
	}
	if w.secret == nil {
		return nil, fmt.Errorf("%w: signed requests are not enabled (no secret configured)", errUnauthenticated)
	}
	body, err := readBody(rw, r, w.opts.MaxBodyBytes)
	if err != nil {
		return nil, err
	}
	if err := Verify(w.secret, ts, sig, body, w.now(), w.opts.MaxSkew); err != nil {
		return nil, fmt.Errorf("%w: %w", errUnauthenticated, err)
	}
	return body, nil
}

func readBody(rw http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(rw, r.Body, limit))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return nil, fmt.Errorf("%w: the limit is %d bytes", errBodyTooLarge, limit)
	}
	if err != nil {
		return nil, fmt.Errorf("read body: %w", err)
	}
	return body, nil
}

// Authenticated wraps h so it runs only for requests carrying this
// channel's bearer token or signature; the body is read (size-limited) to
// check a signature and handed on unchanged. For routes added with Handle.
func (w *Server) Authenticated(h http.Handler) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		body, err := w.readAuthenticated(rw, r)
		if err != nil {
			writeAuthError(rw, err)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		h.ServeHTTP(rw, r)
	})
}

// writeAuthError answers a failed readAuthenticated.
func writeAuthError(rw http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, errUnauthenticated):
		rw.Header().Set("WWW-Authenticate", `Bearer realm="hearth"`)
		writeError(rw, http.StatusUnauthorized, strings.TrimPrefix(err.Error(), errUnauthenticated.Error()+": "))
	case errors.Is(err, errBodyTooLarge):
		writeError(rw, http.StatusRequestEntityTooLarge, err.Error())
	default:
		writeError(rw, http.StatusBadRequest, err.Error())
	}
}
