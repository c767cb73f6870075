package access

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/hearthbot/hearth/engine"
)

// CodeAlphabet is the set of characters of a pairing code: upper-case
// letters and digits without the ambiguous 0, O, 1, I and L.
const CodeAlphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"

// CodeLength is the number of characters of a pairing code.
const CodeLength = 8

// maxCodeAttempts bounds retries when a new code collides with a stored one.
const maxCodeAttempts = 5

// newCode draws a pairing code from crypto/rand, without modulo bias.
func newCode() (string, error) {
	const n = len(CodeAlphabet)
	const limit = 256 - 256%n // bytes at or above limit are rejected
	out := make([]byte, 0, CodeLength)
	var buf [2 * CodeLength]byte
	for len(out) < CodeLength {
		if _, err := rand.Read(buf[:]); err != nil {
			return "", fmt.Errorf("access: random code: %w", err)
		}
		for _, b := range buf {
			if int(b) < limit && len(out) < CodeLength {
				out = append(out, CodeAlphabet[int(b)%n])
			}
		}
	}
	return string(out), nil
}

// NormalizeCode turns what a person typed into a code as stored: upper
// case, spaces and dashes removed. It fails with ErrUnknownCode when the
// result cannot be a code.
func NormalizeCode(s string) (string, error) {
	var sb strings.Builder
	for _, r := range s {
		if unicode.IsSpace(r) || r == '-' {
			continue
		}
		sb.WriteRune(unicode.ToUpper(r))
	}
	code := sb.String()
	if len(code) != CodeLength {
		return "", fmt.Errorf("access: %q is not a pairing code (%d characters expected): %w", s, CodeLength, ErrUnknownCode)
	}
	for _, r := range code {
		if !strings.ContainsRune(CodeAlphabet, r) {
			return "", fmt.Errorf("access: %q is not a pairing code (%q cannot occur in one): %w", s, r, ErrUnknownCode)
		}
	}
	return code, nil
}

// userIDFor derives the id of the user created for a platform identity,
// so that two processes or goroutines admitting the same new sender at
// once create one user: the second CreateUser meets ErrConflict.
func userIDFor(channel, platformID string) string {
	sum := sha256.Sum256([]byte("hearth-user\x00" + channel + "\x00" + platformID))
	return hex.EncodeToString(sum[:16])
}

// pair handles an unknown sender: their pending code, a new one, or Deny.
func (g *Gate) pair(ctx context.Context, in engine.Inbound) (Decision, error) {
	g.pairMu.Lock()
	defer g.pairMu.Unlock()
	now := g.now()

	p, err := g.store.PendingPairingFor(ctx, in.Channel, in.Sender.ID, now)
	switch {
	case err == nil:
		return g.pairDecision(p, now, "pending pairing code"), nil
	case !errors.Is(err, engine.ErrNotFound):
		return Decision{}, fmt.Errorf("access: pending pairing of %s/%s: %w", in.Channel, in.Sender.ID, err)
	}

	n, err := g.store.CountPendingPairings(ctx, in.Channel, now)
	if err != nil {
		return Decision{}, fmt.Errorf("access: count pending pairings on %s: %w", in.Channel, err)
	}
	if n >= g.maxPending {
		g.log.Warn("pairing refused: too many pending codes", "channel", in.Channel, "platform_id", in.Sender.ID, "pending", n)
		return Decision{Kind: Deny, Reason: fmt.Sprintf("%d pairing codes already pending on %s", n, in.Channel)}, nil
	}

	for range maxCodeAttempts {
		code, err := g.newCode()
		if err != nil {
			return Decision{}, err
		}
		p = engine.PairingRequest{
			Code:         code,
			Channel:      in.Channel,
			PlatformID:   in.Sender.ID,
			DisplayName:  in.Sender.DisplayName,
			Conversation: in.Conversation,
			Status:       engine.PairingPending,
			CreatedAt:    now,
			ExpiresAt:    now.Add(g.ttl),
		}
		err = g.store.CreatePairing(ctx, p)
		if errors.Is(err, engine.ErrConflict) {
			continue
		}
		if err != nil {
			return Decision{}, fmt.Errorf("access: store pairing request of %s/%s: %w", in.Channel, in.Sender.ID, err)
		}
		g.log.Info("pairing code issued", "channel", in.Channel, "platform_id", in.Sender.ID,
			"display_name", in.Sender.DisplayName, "expires_at", p.ExpiresAt)
		return g.pairDecision(p, now, "new pairing code"), nil
	}
	return Decision{}, fmt.Errorf("access: no free pairing code after %d attempts", maxCodeAttempts)
}

func (g *Gate) pairDecision(p engine.PairingRequest, now time.Time, reason string) Decision {
	return Decision{
		Kind:      Pair,
		Code:      p.Code,
		ExpiresAt: p.ExpiresAt,
		Notice:    PairingNotice(p.Code, p.ExpiresAt, now),
		Reason:    reason,
	}
}

// PairingNotice is the message an unknown sender receives with their code.
func PairingNotice(code string, expiresAt, now time.Time) string {
	return fmt.Sprintf("Hi! This is a private assistant and it does not know you yet.\n"+
		"Your pairing code is %s. Ask the owner to approve it: they can send "+
		"/pair approve %s in the Hearth console or run: hearth pairing approve %s\n"+
		"The code expires in %s (at %s).",
		code, code, code, humanDuration(expiresAt.Sub(now)), expiresAt.UTC().Format("15:04 UTC, 2 Jan 2006"))
}

// humanDuration renders d rounded up to the minute: "1 hour",
// "1 hour 5 minutes", "42 minutes".
func humanDuration(d time.Duration) string {
	mins := int((d + time.Minute - 1) / time.Minute)
	if mins < 1 {
		mins = 1
	}
	h, m := mins/60, mins%60
	plural := func(n int, unit string) string {
		if n == 1 {
			return "1 " + unit
		}
		return fmt.Sprintf("%d %ss", n, unit)
	}
	switch {
	case h == 0:
		return plural(m, "minute")
	case m == 0:
		return plural(h, "hour")
	}
	return plural(h, "hour") + " " + plural(m, "minute")
}

// Approve admits the sender of a pending pairing request: it marks the
// request approved and creates their member user (named after their
// display name) and identity, and returns the user. Of two concurrent
// approvals of one code exactly one succeeds; the other, like an unknown,
// expired, denied or malformed code, fails with ErrUnknownCode.
func (g *Gate) Approve(ctx context.Context, code string) (engine.User, error) {
	_, u, err := g.ApproveRequest(ctx, code)
	return u, err
}

// ApproveRequest is Approve that also returns the approved request (with
// its channel, platform id and display name), for a caller that tells the
// sender or the owner who was admitted.
func (g *Gate) ApproveRequest(ctx context.Context, code string) (engine.PairingRequest, engine.User, error) {
	c, err := NormalizeCode(code)
	if err != nil {
		return engine.PairingRequest{}, engine.User{}, err
	}
	now := g.now()
	req, err := g.findPending(ctx, c, now)
	if err != nil {
		return engine.PairingRequest{}, engine.User{}, err
	}
	userID := userIDFor(req.Channel, req.PlatformID)
	id, err := g.store.IdentityFor(ctx, req.Channel, req.PlatformID)
	switch {
	case err == nil:
		userID = id.UserID // admitted another way meanwhile (allowlist)
	case !errors.Is(err, engine.ErrNotFound):
		return engine.PairingRequest{}, engine.User{}, fmt.Errorf("access: approve %s: look up %s/%s: %w", c, req.Channel, req.PlatformID, err)
	}

	// Resolving first makes the store's atomic status change the single
	// point that decides who wins a race with another Approve or a Deny;
	// only the winner creates the user.
	req, err = g.store.ResolvePairing(ctx, c, engine.PairingApproved, userID, now)
	if errors.Is(err, engine.ErrNotFound) {
		return engine.PairingRequest{}, engine.User{}, fmt.Errorf("access: approve %s: %w", c, ErrUnknownCode)
	}
	if err != nil {
		return engine.PairingRequest{}, engine.User{}, fmt.Errorf("access: approve %s: %w", c, err)
	}
	u, err := g.ensureUser(ctx, req.Channel, req.PlatformID, req.DisplayName, engine.RoleMember)
	if err != nil {
		g.log.Error("pairing approved but the user could not be created; the sender must ask for a new code",
			"channel", req.Channel, "platform_id", req.PlatformID, "err", err)
		return req, engine.User{}, fmt.Errorf("access: approve %s: create user for %s/%s: %w", c, req.Channel, req.PlatformID, err)
	}
	req.UserID = u.ID
	g.log.Info("pairing approved", "channel", req.Channel, "platform_id", req.PlatformID, "user_id", u.ID)
	return req, u, nil
}

// Deny refuses a pending pairing request and returns it. An unknown,
// expired, already resolved or malformed code fails with ErrUnknownCode.
func (g *Gate) Deny(ctx context.Context, code string) (engine.PairingRequest, error) {
	c, err := NormalizeCode(code)
	if err != nil {
		return engine.PairingRequest{}, err
	}
	req, err := g.store.ResolvePairing(ctx, c, engine.PairingDenied, "", g.now())
	if errors.Is(err, engine.ErrNotFound) {
		return engine.PairingRequest{}, fmt.Errorf("access: deny %s: %w", c, ErrUnknownCode)
	}
	if err != nil {
		return engine.PairingRequest{}, fmt.Errorf("access: deny %s: %w", c, err)
	}
	g.log.Info("pairing denied", "channel", req.Channel, "platform_id", req.PlatformID)
	return req, nil
}

// Pending lists the unexpired pending pairing requests, oldest first.
func (g *Gate) Pending(ctx context.Context) ([]engine.PairingRequest, error) {
	ps, err := g.store.ListPendingPairings(ctx, g.now())
	if err != nil {
		return nil, fmt.Errorf("access: list pending pairings: %w", err)
	}
	return ps, nil
}

// EnsureOwner makes sure the identity (channel, platformID) belongs to an
// owner, creating the owner user named name and linking the identity on
// first run. The REPL calls it with channel "repl" and platform id
// "owner". It is idempotent; it fails with ErrNotOwner when the identity
// is already linked to a member.
func (g *Gate) EnsureOwner(ctx context.Context, channel, platformID, name string) (engine.User, error) {
	if channel == "" || platformID == "" {
		return engine.User{}, fmt.Errorf("access: ensure owner: channel and platform id are required: %w", ErrInvalidOptions)
	}
	u, err := g.ensureUser(ctx, channel, platformID, name, engine.RoleOwner)
	if err != nil {
		return engine.User{}, fmt.Errorf("access: ensure owner %s/%s: %w", channel, platformID, err)
	}
	if u.Role != engine.RoleOwner {
		return engine.User{}, fmt.Errorf("access: ensure owner %s/%s: user %s has role %q: %w",
			channel, platformID, u.ID, u.Role, ErrNotOwner)
	}
	return u, nil
}

// findPending returns the unexpired pending request with the code.
func (g *Gate) findPending(ctx context.Context, code string, now time.Time) (engine.PairingRequest, error) {
	ps, err := g.store.ListPendingPairings(ctx, now)
	if err != nil {
		return engine.PairingRequest{}, fmt.Errorf("access: list pending pairings: %w", err)
	}
	for _, p := range ps {
		if p.Code == code {
			return p, nil
		}
	}
	return engine.PairingRequest{}, fmt.Errorf("access: %s: %w", code, ErrUnknownCode)
}

// ensureUser returns the user of a platform identity, creating the user
// (with the id derived from the identity) and linking the identity when
// they do not exist. Concurrent calls for one identity, in one process or
// several sharing a store, end with one user: a CreateUser or
// LinkIdentity that meets ErrConflict adopts what the other call stored.
func (g *Gate) ensureUser(ctx context.Context, channel, platformID, name string, role engine.UserRole) (engine.User, error) {
	if id, err := g.store.IdentityFor(ctx, channel, platformID); err == nil {
		return g.store.GetUser(ctx, id.UserID)
	} else if !errors.Is(err, engine.ErrNotFound) {
		return engine.User{}, err
	}
	now := g.now()
	display := strings.TrimSpace(name)
	name = display
	if name == "" {
		name = channel + ":" + platformID
	}
	u := engine.User{ID: userIDFor(channel, platformID), Name: name, Role: role, CreatedAt: now}
	if err := g.store.CreateUser(ctx, u); errors.Is(err, engine.ErrConflict) {
		if u, err = g.store.GetUser(ctx, u.ID); err != nil {
			return engine.User{}, err
		}
	} else if err != nil {
		return engine.User{}, err
	}
	err := g.store.LinkIdentity(ctx, engine.Identity{
		Channel: channel, PlatformID: platformID, UserID: u.ID, DisplayName: display, CreatedAt: now,
	})
	if errors.Is(err, engine.ErrConflict) {
		id, err := g.store.IdentityFor(ctx, channel, platformID)
		if err != nil {
			return engine.User{}, err
		}
		if id.UserID == u.ID {
			return u, nil
		}
		return g.store.GetUser(ctx, id.UserID)
	}
	if err != nil {
		return engine.User{}, err
	}
	return u, nil
}
