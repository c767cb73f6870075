package bot

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode"

	"github.com/hearthbot/hearth/adapters/openaiapi"
	"github.com/hearthbot/hearth/engine"
)

// maxTokenLabel bounds an API token's label, in bytes.
const maxTokenLabel = 64

// ErrAmbiguousUser reports a user name that several users share; name the
// user by id instead.
var ErrAmbiguousUser = errors.New("several users have that name")

// newAPI builds the OpenAI-compatible API channel from channels.api. It
// binds the address at once, so a port in use fails the start.
func (b *Bot) newAPI() (*openaiapi.Server, error) {
	c := b.cfg.Channels.API
	tokens, err := b.apiTokenStore()
	if err != nil {
		return nil, fmt.Errorf("channels.api: %w", err)
	}
	s, err := openaiapi.New(openaiapi.Options{
		Listen:           c.Listen,
		AllowNonLoopback: c.AllowNonLoopback,
		Model:            c.Model,
		Tokens:           tokens,
		Identities:       b.Store,
		MaxBodyBytes:     c.MaxBodyBytes,
		ReplyTimeout:     c.ReplyTimeout,
		Logger:           b.log.With("channel", openaiapi.DefaultName),
		Now:              b.o.Now,
	})
	if err != nil {
		return nil, fmt.Errorf("channels.api: %w", err)
	}
	if err := s.Listen(); err != nil {
		return nil, fmt.Errorf("channels.api.listen %s: %w", c.Listen, err)
	}
	return s, nil
}

// apiTokenStore returns the store's API token methods.
func (b *Bot) apiTokenStore() (engine.APITokenStore, error) {
	ts, ok := b.Store.(engine.APITokenStore)
	if !ok {
		return nil, fmt.Errorf("the store (%T) does not keep API tokens", b.Store)
	}
	return ts, nil
}

// FindUser resolves a user by id, else by name (case-insensitive).
// engine.ErrNotFound when nobody matches; ErrAmbiguousUser when several
// users have the name.
func (b *Bot) FindUser(ctx context.Context, ref string) (engine.User, error) {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return engine.User{}, fmt.Errorf("no user named: %w", engine.ErrNotFound)
	}
	u, err := b.Store.GetUser(ctx, ref)
	if err == nil {
		return u, nil
	}
	if !errors.Is(err, engine.ErrNotFound) {
		return engine.User{}, err
	}
	users, err := b.Store.ListUsers(ctx)
	if err != nil {
		return engine.User{}, err
	}
	var found []engine.User
	for _, u := range users {
		if strings.EqualFold(u.Name, ref) {
			found = append(found, u)
		}
	}
	switch len(found) {
	case 0:
		return engine.User{}, fmt.Errorf("no user with id or name %q: %w", ref, engine.ErrNotFound)
	case 1:
		return found[0], nil
	}
	ids := make([]string, len(found))
	for i, u := range found {
		ids[i] = u.ID
	}
	return engine.User{}, fmt.Errorf("%w (%q: %s); name the user by id", ErrAmbiguousUser, ref, strings.Join(ids, ", "))
}

// CreateAPIToken makes an API token for the user named by userRef (id or
// name) and links the user's API identity. It returns the stored record
// and the token, which is shown once and never stored.
func (b *Bot) CreateAPIToken(ctx context.Context, userRef, label string) (engine.APIToken, string, error) {
	label = strings.TrimSpace(label)
	if len(label) > maxTokenLabel || strings.IndexFunc(label, unicode.IsControl) >= 0 {
		return engine.APIToken{}, "", fmt.Errorf("token name %q: want at most %d characters without control characters", label, maxTokenLabel)
	}
	ts, err := b.apiTokenStore()
	if err != nil {
		return engine.APIToken{}, "", err
	}
	u, err := b.FindUser(ctx, userRef)
	if err != nil {
		return engine.APIToken{}, "", err
	}
	if err := b.linkAPIIdentity(ctx, u, true); err != nil {
		return engine.APIToken{}, "", err
	}
	text, rec := engine.NewAPIToken(u.ID, label)
	rec.CreatedAt = b.o.Now()
	if err := ts.CreateAPIToken(ctx, rec); err != nil {
		return engine.APIToken{}, "", fmt.Errorf("store the token: %w", err)
	}
	b.log.Info("api token created", "token", rec.ID, "user", u.ID, "name", label)
	return rec, text, nil
}

// linkAPIIdentity gives the user the API channel's identity (platform id
// = user id), so the access gate admits their requests.
func (b *Bot) linkAPIIdentity(ctx context.Context, u engine.User, retry bool) error {
	id, err := b.Store.IdentityFor(ctx, openaiapi.DefaultName, u.ID)
	switch {
	case err == nil && id.UserID == u.ID:
		return nil
	case err == nil:
		return fmt.Errorf("the %s identity %s belongs to user %s", openaiapi.DefaultName, u.ID, id.UserID)
	case !errors.Is(err, engine.ErrNotFound):
		return err
	}
	err = b.Store.LinkIdentity(ctx, engine.Identity{
		Channel: openaiapi.DefaultName, PlatformID: u.ID, UserID: u.ID, DisplayName: u.Name, CreatedAt: b.o.Now(),
	})
	if errors.Is(err, engine.ErrConflict) && retry {
		return b.linkAPIIdentity(ctx, u, false) // linked concurrently: check to whom
	}
	return err
}

// APITokens lists the tokens of the user named by userRef (everyone's
// when empty), revoked ones included, oldest first.
func (b *Bot) APITokens(ctx context.Context, userRef string) ([]engine.APIToken, error) {
	ts, err := b.apiTokenStore()
	if err != nil {
		return nil, err
	}
	userID := ""
	if userRef != "" {
		u, err := b.FindUser(ctx, userRef)
		if err != nil {
			return nil, err
		}
		userID = u.ID
	}
	return ts.ListAPITokens(ctx, userID)
}

// RevokeAPIToken revokes the token with the given id and returns it;
// engine.ErrNotFound when there is none. Revoking a revoked token keeps
// the first revocation.
func (b *Bot) RevokeAPIToken(ctx context.Context, id string) (engine.APIToken, error) {
	ts, err := b.apiTokenStore()
	if err != nil {
		return engine.APIToken{}, err
	}
	id = strings.TrimSpace(id)
	if id == "" {
		return engine.APIToken{}, fmt.Errorf("no token id: %w", engine.ErrNotFound)
	}
	if err := ts.RevokeAPIToken(ctx, id, b.o.Now()); err != nil {
		if errors.Is(err, engine.ErrNotFound) {
			return engine.APIToken{}, fmt.Errorf("no API token with id %q (see `hearth tokens ls`): %w", id, engine.ErrNotFound)
		}
		return engine.APIToken{}, err
	}
	list, err := ts.ListAPITokens(ctx, "")
	if err != nil {
		return engine.APIToken{}, err
	}
	for _, t := range list {
		if t.ID == id {
			b.log.Info("api token revoked", "token", id, "user", t.UserID)
			return t, nil
		}
	}
	return engine.APIToken{}, fmt.Errorf("token %q vanished after its revocation: %w", id, engine.ErrNotFound)
}
