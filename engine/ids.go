package engine

import (
	"crypto/rand"
	"encoding/hex"
)

// NewID returns a random 128-bit identifier in hex, for users, sessions and
// messages without a platform id.
func NewID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b[:])
}
