package channelkit

import (
	"sync"

	"github.com/hearthbot/hearth/engine"
)

// Channel states reported in engine.ChannelHealth.State.
const (
	StateStarting     = "starting"
	StateConnected    = "connected"
	StateReconnecting = "reconnecting"
	StateStalled      = "stalled"
	StateStopped      = "stopped"
	StateFailed       = "failed"
)

// Health tracks what engine.ChannelHealth reports. It is safe for
// concurrent use; adapters return Snapshot from their Health method.
type Health struct {
	clock Clock
	mu    sync.Mutex
	h     engine.ChannelHealth
}

// NewHealth returns a tracker in state "starting"; nil clock: wall clock.
func NewHealth(clock Clock) *Health {
	return &Health{clock: orSystem(clock), h: engine.ChannelHealth{State: StateStarting}}
}

// SetState records the connection state.
func (h *Health) SetState(state string) {
	h.mu.Lock()
	h.h.State = state
	h.mu.Unlock()
}

// Inbound records that an event arrived from the platform now.
func (h *Health) Inbound() {
	now := h.clock.Now()
	h.mu.Lock()
	h.h.LastInbound = now
	h.mu.Unlock()
}

// Outbound records that a message was delivered to the platform now.
func (h *Health) Outbound() {
	now := h.clock.Now()
	h.mu.Lock()
	h.h.LastOutbound = now
	h.mu.Unlock()
}

// Error records the latest error (nil is ignored).
func (h *Health) Error(err error) {
	if err == nil {
		return
	}
	h.mu.Lock()
	h.h.LastError = err.Error()
	h.mu.Unlock()
}

// Restarted counts a reconnection.
func (h *Health) Restarted() {
	h.mu.Lock()
	h.h.Restarts++
	h.mu.Unlock()
}

// Snapshot returns the current health.
func (h *Health) Snapshot() engine.ChannelHealth {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.h
}
