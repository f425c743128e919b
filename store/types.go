package store

import (
	"encoding/json"
	"errors"
	"time"
)

// Errors the store returns; callers map them to responses with errors.Is.
var (
	// ErrNotFound: no such row (or it belongs to another user).
	ErrNotFound = errors.New("not found")
	// ErrConflict: a unique constraint would be broken (e.g. duplicate email).
	ErrConflict = errors.New("conflict")
	// ErrInvalid: the request names something that cannot be (a role
	// that does not exist, a viewer's owner that is no account).
	ErrInvalid = errors.New("invalid")
)

// Monitor statuses.
const (
	StatusPending = "pending"
	StatusUp      = "up"
	// StatusDegraded: checks pass, but slowly or with a warning (a
	// certificate close to expiry, some ping loss).
	StatusDegraded = "degraded"
	StatusDown     = "down"
	StatusPaused   = "paused"
	// StatusMaintenance: inside a maintenance window. Checks go on (and
	// are marked, so uptime leaves them out); no incident opens and no
	// alert goes out.
	StatusMaintenance = "maintenance"
)

// User is an account. PasswordHash is an encoded hash string (never the password).
type User struct {
	ID           int64
	Email        string
	PasswordHash string
	Admin        bool
	Disabled     bool
	CreatedAt    time.Time
	// CredVersion moves on whenever the user's credentials must end
	// (password change or reset, disable, admin flag change); sessions,
	// API tokens and JWTs carry the version they were issued under.
	CredVersion int64
	// Role is RoleAdmin, RoleMember or RoleViewer (Admin is Role ==
	// RoleAdmin); OwnerID is whose monitors a viewer reads (0 otherwise).
	Role    string
	OwnerID int64
}

// Monitor is a configured check plus its current state and last result.
type Monitor struct {
	ID     int64
	UserID int64
	Name   string
	// Type is the monitor's kind ("http", "tcp", …; the checker's registry)
	// and Settings its own settings, a JSON object validated by the
	// checker for that type.
	Type            string
	Settings        json.RawMessage
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
	// DegradedLatency marks passing checks slower than it degraded; 0: off.
	DegradedLatency time.Duration
	// AlertDegraded sends alerts when the monitor becomes degraded and
	// when it recovers from it, as for down.
	AlertDegraded bool
	// Regions the monitor is checked from; nil means the instance's
	// default regions. Quorum is how many of them must see it down for it
	// to be down; 0 means a majority.
	Regions []string
	Quorum  int
	// PushToken is the secret of a push monitor's URL ("" for other
	// types). CreateMonitor stores the one given.
	PushToken string
	CreatedAt time.Time
	UpdatedAt time.Time
	// OwnerAdmin is whether the monitor's owner is an admin (read only):
	// the egress policy may let only admins' monitors reach private
	// addresses.
	OwnerAdmin bool

	// ReminderEvery repeats the alert while an incident stays open; 0 = off.
	// Stored in whole minutes (a part of a minute rounds up).
	ReminderEvery time.Duration
	// Channels are the ids of the channels this monitor alerts, ascending;
	// reads fill it (nil when none). CreateMonitor: nil links the user's
	// default channels, non-nil exactly these. UpdateMonitor: nil leaves
	// the links alone, non-nil replaces them. Either way every id must be
	// one of the user's channels, else ErrNotFound and nothing changes.
	Channels []int64

	// State is owned by the checker's result sink (and pause/resume).
	State MonitorState
	// LastCheck is the newest stored check, nil before the first one.
	LastCheck *Check
	// CertExpiresAt is the expiry of the certificate the newest
	// TLS-speaking check saw; zero if none.
	CertExpiresAt time.Time
	// LastBody is the body of the newest push (at most MaxPushBody bytes).
	LastBody string
}

// MaxPushBody caps a push's body as stored.
const MaxPushBody = 10 << 10

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
	Worker     string    // the worker that ran it; "" if not known
	At         time.Time // when the check was scheduled to run (ms precision)
	OK         bool
	Degraded   bool // passed, but degraded; only with OK
	StatusCode int
	Latency    time.Duration
	Phases     Phases
	Reason     string // "" when OK and not degraded; a code of package reason
	Error      string // human message, "" when OK and not degraded
	// Maintenance marks a check taken inside a maintenance window: the
	// roll-ups count it apart from up and down.
	Maintenance bool

	// Not kept per check: the newest one's are kept on the monitor.
	Detail     string    // one line on what the check saw
	CertExpiry time.Time // the certificate's expiry, zero if none
	Body       string    // a push's body
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
	// StatusCode and Excerpt describe the failing response, if there was one;
	// a transition to down records them in the incident it opens.
	StatusCode int
	Excerpt    string
	// Alert asks SaveChecks to queue alerts for this transition, in the same
	// transaction: "down" for the incident a transition to down opens, "up"
	// (with the downtime) for the incident a transition to up resolves, one
	// delivery per enabled channel of the monitor. The checker sets it for
	// transitions into down and for down to up.
	Alert bool
	// PrevSince is when the previous status began (for how long a
	// degraded spell lasted); zero if unknown.
	PrevSince time.Time
	// Window is the maintenance window's title on a transition into or
	// out of maintenance; with Alert such a transition (but one out of it
	// into down, which is a DOWN alert) queues "maintenance_start" or
	// "maintenance_end".
	Window string `json:",omitempty"`
	// Changes is, on a transition into or out of flapping, how many state
	// changes the monitor went through (within its window, or while it
	// flapped); with Alert it queues "flapping" or "flapping_end".
	Changes int `json:",omitempty"`
	// Early, if set, holds the alerts already sent for this transition
	// while it could not be stored; the deliveries SaveChecks queues for
	// it record them instead of sending again.
	Early *EarlyAlert `json:",omitempty"`
}

// Incident is one period of a monitor being DOWN: opened by the transition
// to down, resolved by the transition back to up (or by pausing).
type Incident struct {
	ID         int64
	MonitorID  int64
	StartedAt  time.Time
	ResolvedAt time.Time // zero while open
	Reason     string    // reason code of the failure that opened it
	Error      string    // its human message
	StatusCode int       // HTTP status of that failure, 0 if none
	Excerpt    string    // start of the response body of that failure, if any
	AckedBy    int64     // user who acknowledged it, 0 if nobody
	AckedEmail string    // that user's email, for display
	AckedAt    time.Time // zero if not acknowledged
}

// Open reports whether the incident is still going on.
func (i Incident) Open() bool { return i.ResolvedAt.IsZero() }

// IncidentFilter selects incidents; zero fields do not filter.
type IncidentFilter struct {
	MonitorID int64
	Status    string // "", "open" or "resolved"
	Limit     int    // <= 0: a default of 100
}

// Uptime counts checks over a period. Paused time has no checks, so it is
// neither up nor down: it drops out of the ratio instead of counting as up.
// Degraded counts the up checks that were degraded (a part of Up).
type Uptime struct {
	Up, Down int64
	Degraded int64
}

// Ratio is Up/(Up+Down), and false when there were no checks.
func (u Uptime) Ratio() (float64, bool) {
	if n := u.Up + u.Down; n > 0 {
		return float64(u.Up) / float64(n), true
	}
	return 0, false
}

// Resolution of stored history.
const (
	ResolutionRaw    = "raw"
	ResolutionHourly = "hourly"
	ResolutionDaily  = "daily"
)

// LatencyPoint summarises the checks in [At, At+step).
type LatencyPoint struct {
	At       time.Time
	Count    int64 // checks in the step (with a latency)
	Up, Down int64
	Avg, P95 time.Duration
	Min, Max time.Duration
	DNS      time.Duration // per-phase averages
	Connect  time.Duration
	TLS      time.Duration
	TTFB     time.Duration
	Transfer time.Duration
}

// Bucket is one period of a monitor's history bar (an hour or a day).
// Degraded counts the up checks that were degraded (a part of Up).
type Bucket struct {
	At       time.Time
	Up, Down int64
	Degraded int64
	Avg      time.Duration
}
