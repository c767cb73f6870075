package openaiapi

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/hearthbot/hearth/engine"
)

// errIdentityTaken reports that the channel identity of a token's user
// belongs to another user (a store edited by hand): the request is refused
// rather than answered in someone else's sessions.
var errIdentityTaken = errors.New("identity belongs to another user")

// unauthorized is the 401 of every authentication failure; it does not
// say which check failed.
func unauthorized() *fault {
	return newFault(http.StatusUnauthorized, typeInvalidRequest, "", codeInvalidAPIKey,
		"invalid or missing API token: send Authorization: Bearer "+engine.APITokenPrefix+"... (make one with `hearth tokens create --user NAME`)")
}

// authenticate finds the unrevoked token a request carries. The token is
// hashed and the hash looked up, so the lookup's timing depends on the
// hash, never on how close a guess came to a real token; the stored hash
// is compared again in constant time.
func (s *Server) authenticate(r *http.Request) (engine.APIToken, *fault) {
	scheme, value, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	value = strings.TrimSpace(value)
	if !ok || !strings.EqualFold(scheme, "Bearer") || !engine.IsAPITokenFormat(value) {
		return engine.APIToken{}, unauthorized()
	}
	hash := engine.HashAPIToken(value)
	tok, err := s.opts.Tokens.APITokenByHash(r.Context(), hash)
	switch {
	case errors.Is(err, engine.ErrNotFound):
		s.log.Warn("openaiapi: unknown or revoked API token", "hint", value[:len(engine.APITokenPrefix)+6], "remote", r.RemoteAddr)
		return engine.APIToken{}, unauthorized()
	case err != nil:
		s.log.Error("openaiapi: token lookup failed", "err", err)
		return engine.APIToken{}, newFault(http.StatusServiceUnavailable, typeServer, "", codeUnavailable, "the token store is unavailable; try again")
	case subtle.ConstantTimeCompare(tok.Hash, hash) != 1 || tok.Revoked() || tok.UserID == "":
		return engine.APIToken{}, unauthorized()
	}
	if now := s.now(); now.Sub(tok.LastUsed) >= touchEvery {
		if err := s.opts.Tokens.TouchAPIToken(context.WithoutCancel(r.Context()), tok.ID, now); err != nil {
			s.log.Warn("openaiapi: recording a token's use failed", "token", tok.ID, "err", err)
		}
	}
	return tok, nil
}

// ensureIdentity links the channel identity of userID (platform id = user
// id) to that user, once per process.
func (s *Server) ensureIdentity(ctx context.Context, userID string) error {
	if _, ok := s.linked.Load(userID); ok {
		return nil
	}
	for attempt := 0; ; attempt++ {
		id, err := s.opts.Identities.IdentityFor(ctx, s.opts.Name, userID)
		switch {
		case err == nil && id.UserID == userID:
			s.linked.Store(userID, struct{}{})
			return nil
		case err == nil:
			return fmt.Errorf("%w: %s/%s is linked to user %s", errIdentityTaken, s.opts.Name, userID, id.UserID)
		case !errors.Is(err, engine.ErrNotFound):
			return fmt.Errorf("look up identity %s/%s: %w", s.opts.Name, userID, err)
		}
		err = s.opts.Identities.LinkIdentity(ctx, engine.Identity{
			Channel: s.opts.Name, PlatformID: userID, UserID: userID, CreatedAt: s.now(),
		})
		switch {
		case err == nil:
			s.linked.Store(userID, struct{}{})
			s.log.Info("openaiapi: identity linked", "user", userID)
			return nil
		case errors.Is(err, engine.ErrConflict) && attempt == 0:
			continue // linked concurrently: check to whom
		default:
			return fmt.Errorf("link identity %s/%s: %w", s.opts.Name, userID, err)
		}
	}
}
