package repl

import (
	"context"
	"errors"
	"time"

	"github.com/hearthbot/hearth/engine"
)

// ErrNotAvailable is returned by Admin methods whose feature is not built
// or not enabled in this process (memory, routines, heartbeats before their
// issues land). The REPL prints it as a clear "not available" line.
var ErrNotAvailable = errors.New("not available yet")

// Admin is what the console's local slash commands need from the rest of
// Hearth. The composition root implements it; embed UnavailableAdmin to
// answer ErrNotAvailable for the features that are not wired yet.
type Admin interface {
	// Status describes the running instance as name/value lines
	// (version, uptime, model, store, sessions, ...).
	Status(ctx context.Context) ([]StatusField, error)
	// Model names the model the console session uses.
	Model(ctx context.Context) (string, error)
	// SetModel switches the console session to another model.
	SetModel(ctx context.Context, name string) error
	// Pairings lists pending pairing requests, oldest first.
	Pairings(ctx context.Context) ([]engine.PairingRequest, error)
	// ApprovePairing approves a pending code; the result carries the
	// user the sender now belongs to.
	ApprovePairing(ctx context.Context, code string) (engine.PairingRequest, error)
	// DenyPairing denies a pending code.
	DenyPairing(ctx context.Context, code string) (engine.PairingRequest, error)
	// Users lists every user.
	Users(ctx context.Context) ([]engine.User, error)
	// Sessions lists sessions, most recently updated first, at most limit.
	Sessions(ctx context.Context, limit int) ([]engine.Session, error)
	// Audit lists the newest audit entries, at most limit.
	Audit(ctx context.Context, limit int) ([]engine.AuditEntry, error)
	// Channels reports every configured channel's health.
	Channels(ctx context.Context) ([]ChannelInfo, error)
	// SearchMemory searches the owner's memory, best hit first.
	SearchMemory(ctx context.Context, query string) ([]MemoryHit, error)
	// Routines lists the owner's routines.
	Routines(ctx context.Context) ([]RoutineInfo, error)
	// Heartbeat acts on the owner's heartbeat: action is "" (show
	// state), "run", "pause" or "resume". It returns a line to print.
	Heartbeat(ctx context.Context, action string) (string, error)
}

// StatusField is one line of /status.
type StatusField struct {
	Name  string
	Value string
}

// ChannelInfo is one line of /channels.
type ChannelInfo struct {
	Name   string
	Health engine.ChannelHealth
}

// MemoryHit is one result of /memory search.
type MemoryHit struct {
	// Path is the document's workspace path.
	Path string
	// Rank is the hit's position after fusion, 1 first.
	Rank int
	// Method says which search found it: fts, vector or both.
	Method string
	// Snippet is a short excerpt of the matching chunk.
	Snippet string
}

// RoutineInfo is one line of /routines.
type RoutineInfo struct {
	ID       string
	Name     string
	Schedule string
	Enabled  bool
	NextRun  time.Time
	LastRun  time.Time
}

// UnavailableAdmin answers every Admin method with ErrNotAvailable. Embed it
// in a composition-root type and override what is wired.
type UnavailableAdmin struct{}

var _ Admin = UnavailableAdmin{}

// Status implements Admin.
func (UnavailableAdmin) Status(context.Context) ([]StatusField, error) { return nil, ErrNotAvailable }

// Model implements Admin.
func (UnavailableAdmin) Model(context.Context) (string, error) { return "", ErrNotAvailable }

// SetModel implements Admin.
func (UnavailableAdmin) SetModel(context.Context, string) error { return ErrNotAvailable }

// Pairings implements Admin.
func (UnavailableAdmin) Pairings(context.Context) ([]engine.PairingRequest, error) {
	return nil, ErrNotAvailable
}

// ApprovePairing implements Admin.
func (UnavailableAdmin) ApprovePairing(context.Context, string) (engine.PairingRequest, error) {
	return engine.PairingRequest{}, ErrNotAvailable
}

// DenyPairing implements Admin.
func (UnavailableAdmin) DenyPairing(context.Context, string) (engine.PairingRequest, error) {
	return engine.PairingRequest{}, ErrNotAvailable
}

// Users implements Admin.
func (UnavailableAdmin) Users(context.Context) ([]engine.User, error) { return nil, ErrNotAvailable }

// Sessions implements Admin.
func (UnavailableAdmin) Sessions(context.Context, int) ([]engine.Session, error) {
	return nil, ErrNotAvailable
}

// Audit implements Admin.
func (UnavailableAdmin) Audit(context.Context, int) ([]engine.AuditEntry, error) {
	return nil, ErrNotAvailable
}

// Channels implements Admin.
func (UnavailableAdmin) Channels(context.Context) ([]ChannelInfo, error) { return nil, ErrNotAvailable }

// SearchMemory implements Admin.
func (UnavailableAdmin) SearchMemory(context.Context, string) ([]MemoryHit, error) {
	return nil, ErrNotAvailable
}

// Routines implements Admin.
func (UnavailableAdmin) Routines(context.Context) ([]RoutineInfo, error) { return nil, ErrNotAvailable }

// Heartbeat implements Admin.
func (UnavailableAdmin) Heartbeat(context.Context, string) (string, error) {
	return "", ErrNotAvailable
}
