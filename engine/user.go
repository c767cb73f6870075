package engine

import "time"

// UserRole is a user's standing.
type UserRole string

// User roles.
const (
	// RoleOwner administers the instance (pairing approval, approvals of
	// sensitive actions). The REPL user is the owner.
	RoleOwner UserRole = "owner"
	// RoleMember is any other paired or allowlisted user.
	RoleMember UserRole = "member"
)

// User is a Hearth user; identities on several channels can belong to one.
type User struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Role      UserRole  `json:"role"`
	Timezone  string    `json:"timezone,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// Identity links a platform sender to a user.
type Identity struct {
	Channel     string    `json:"channel"`
	PlatformID  string    `json:"platform_id"`
	UserID      string    `json:"user_id"`
	DisplayName string    `json:"display_name,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
}

// PairingStatus is the state of a pairing request.
type PairingStatus string

// Pairing statuses.
const (
	PairingPending  PairingStatus = "pending"
	PairingApproved PairingStatus = "approved"
	PairingDenied   PairingStatus = "denied"
)

// PairingRequest is an unknown sender waiting for the owner's approval.
type PairingRequest struct {
	Code        string `json:"code"`
	Channel     string `json:"channel"`
	PlatformID  string `json:"platform_id"`
	DisplayName string `json:"display_name,omitempty"`
	// Conversation is where the request came from, so the sender can be
	// told when the owner approves.
	Conversation string        `json:"conversation,omitempty"`
	Status       PairingStatus `json:"status"`
	CreatedAt    time.Time     `json:"created_at"`
	ExpiresAt    time.Time     `json:"expires_at"`
	// UserID is set once approved.
	UserID string `json:"user_id,omitempty"`
}

// Session is one conversation thread of a user with its own history. Key
// is the conversation address key; /new archives the active session of a
// key and starts another.
type Session struct {
	ID        string    `json:"id"`
	UserID    string    `json:"user_id"`
	Key       string    `json:"key"`
	Address   Address   `json:"address"`
	Group     bool      `json:"group"`
	Active    bool      `json:"active"`
	Model     string    `json:"model,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// Summary condenses history up to and including SummaryThrough.
	Summary        string `json:"summary,omitempty"`
	SummaryThrough int64  `json:"summary_through,omitempty"`
}
