package store

import (
	"errors"
	"time"
)

// Errors the store returns; callers map them to responses with errors.Is.
var (
	// ErrNotFound: no such row (or it belongs to another user).
	ErrNotFound = errors.New("not found")
	// ErrConflict: a unique constraint would be broken (e.g. duplicate email).
	ErrConflict = errors.New("conflict")
)

// Monitor statuses.
const (
	StatusPending = "pending"
	StatusUp      = "up"
	StatusDown    = "down"
	StatusPaused  = "paused"
)

// User is an account. PasswordHash is an encoded hash string (never the password).
type User struct {
	ID           int64
	Email        string
	PasswordHash string
	Admin        bool
	Disabled     bool
	CreatedAt    time.Time
}

// Monitor is a configured check plus its current state and last result.
type Monitor struct {
	ID              int64
	UserID          int64
	Name            string
	URL             string
	Method          string
	Headers         map[string]string
	Body            string
	Interval        time.Duration
	Timeout         time.Duration
	ExpectedStatus  string // e.g. "200-299" or "200,301-302"
	FollowRedirects bool
	VerifyTLS       bool
	Confirmations   int // consecutive failures before DOWN
	Paused          bool
	CreatedAt       time.Time
	UpdatedAt       time.Time

	// State is owned by the checker's result sink (and pause/resume).
	State MonitorState
	// LastCheck is the newest stored check, nil before the first one.
	LastCheck *Check
}

// MonitorState is the state machine's persisted part.
type MonitorState struct {
	Status     string // StatusPending|StatusUp|StatusDown|StatusPaused
	Since      time.Time
	FailStreak int // consecutive failed checks
}

// Phases are per-phase timings of one HTTP check.
type Phases struct {
	DNS, Connect, TLS, TTFB, Transfer time.Duration
}

// Check is one probe result. (MonitorID, Region, At) is its identity:
// storing the same check twice keeps one row.
type Check struct {
	MonitorID  int64
	Region     string
	At         time.Time // when the check was scheduled to run (ms precision)
	OK         bool
	StatusCode int
	Latency    time.Duration
	Phases     Phases
	Reason     string // "" when OK; timeout|dns|refused|tls|status|redirects|error
	Error      string // human message, "" when OK
}

// StateUpdate is what the result sink writes for a monitor after a batch.
type StateUpdate struct {
	MonitorID int64
	State     MonitorState
	// Transition is set when the status changed; it is kept as an event.
	Transition *Transition
}

// Transition is one status change of a monitor.
type Transition struct {
	MonitorID int64
	From, To  string
	At        time.Time
	Reason    string
	Error     string
}
