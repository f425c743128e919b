package app

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"

	"github.com/upwatch/upwatch/store"
)

// LiveEvent is one message of the live feed, to dashboards and API clients.
type LiveEvent struct {
	Type       string    `json:"type"` // "check", "state" or "deleted"
	MonitorID  int64     `json:"monitor_id"`
	Status     string    `json:"status,omitempty"`
	At         time.Time `json:"at"`
	OK         bool      `json:"ok"`
	StatusCode int       `json:"status_code,omitempty"`
	LatencyMS  float64   `json:"latency_ms"`
	Reason     string    `json:"reason,omitempty"`
	Error      string    `json:"error,omitempty"`
}

// Hub fans live events out to subscribers. Publishing never blocks: a
// subscriber too slow to keep up loses its connection (its page reloads
// its state when it reconnects) rather than slowing the checker.
type Hub struct {
	mu   sync.Mutex
	subs map[*subscriber]struct{}
}

type subscriber struct {
	userID  int64
	session string // hash of the session cookie, "" for bearer tokens
	ch      chan LiveEvent
	kick    chan struct{} // closed to end the connection
	once    sync.Once
}

func (s *subscriber) close() { s.once.Do(func() { close(s.kick) }) }

// subBuffer is how many events a subscriber may lag behind before it is cut.
const subBuffer = 512

func NewHub() *Hub { return &Hub{subs: map[*subscriber]struct{}{}} }

func (h *Hub) subscribe(userID int64, session string) *subscriber {
	s := &subscriber{userID: userID, session: session, ch: make(chan LiveEvent, subBuffer), kick: make(chan struct{})}
	h.mu.Lock()
	h.subs[s] = struct{}{}
	h.mu.Unlock()
	return s
}

func (h *Hub) unsubscribe(s *subscriber) {
	h.mu.Lock()
	delete(h.subs, s)
	h.mu.Unlock()
	s.close()
}

// send offers events to every subscriber; each filters by ownership.
func (h *Hub) send(evs []LiveEvent) {
	if len(evs) == 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		for _, e := range evs {
			select {
			case s.ch <- e:
			default:
				s.close()
			}
		}
	}
}

// Published is the checker's after-commit hook: one "check" event per
// stored result, and a "state" event per status change.
func (h *Hub) Published(checks []store.Check, updates []store.StateUpdate) {
	evs := make([]LiveEvent, 0, len(checks)+len(updates))
	latest := map[int64]int{}
	for i, c := range checks {
		if j, ok := latest[c.MonitorID]; !ok || !c.At.Before(checks[j].At) {
			latest[c.MonitorID] = i
		}
	}
	status := map[int64]string{}
	for _, u := range updates {
		status[u.MonitorID] = u.State.Status
	}
	// Only each monitor's newest check: a page shows the latest state.
	for id, i := range latest {
		c := checks[i]
		evs = append(evs, LiveEvent{Type: "check", MonitorID: id, Status: status[id], At: c.At, OK: c.OK,
			StatusCode: c.StatusCode, LatencyMS: ms(c.Latency), Reason: c.Reason, Error: c.Error})
	}
	for _, u := range updates {
		if t := u.Transition; t != nil {
			evs = append(evs, LiveEvent{Type: "state", MonitorID: u.MonitorID, Status: t.To, At: t.At,
				Reason: t.Reason, Error: t.Error, StatusCode: t.StatusCode})
		}
	}
	h.send(evs)
}

// MonitorChanged tells pages about a change made by a user (pause, edit, delete).
func (h *Hub) MonitorChanged(m store.Monitor, deleted bool) {
	e := LiveEvent{Type: "state", MonitorID: m.ID, Status: m.State.Status, At: m.State.Since}
	if deleted {
		e = LiveEvent{Type: "deleted", MonitorID: m.ID, At: time.Now()}
	}
	h.send([]LiveEvent{e})
}

// RevokeSession ends live connections opened with a session that ended.
func (h *Hub) RevokeSession(sessionHash string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		if sessionHash != "" && s.session == sessionHash {
			s.close()
		}
	}
}

// RevokeSessionID ends live connections of the session with this public id.
func (h *Hub) RevokeSessionID(id string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		if s.session != "" && store.SessionID([]byte(s.session)) == id {
			s.close()
		}
	}
}

// RevokeUser ends a user's live connections (password change, disable),
// except those of the session keepSession ("" keeps none).
func (h *Hub) RevokeUser(userID int64, keepSession string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		if s.userID == userID && (keepSession == "" || s.session != keepSession) {
			s.close()
		}
	}
}

// liveRecheck is how often a live connection re-validates its credentials,
// so a session revoked elsewhere (another process) ends within this time.
// The user's credential version is compared every credFresh besides: a
// password reset from the command line closes the feed within a second.
const liveRecheck = 30 * time.Second

// live serves the feed over WebSocket to a signed-in page or a bearer token.
// Browsers' cross-origin connections are refused by the Origin check.
func (a *App) live(w http.ResponseWriter, r *http.Request) {
	// u's monitors are streamed (a viewer's owner's); me is who is
	// signed in, whose credentials end the feed.
	u, me := userFrom(r.Context()), selfFrom(r.Context())
	session := ""
	if c, err := r.Cookie(sessionCookie); err == nil && r.Header.Get("Authorization") == "" {
		session = string(hashToken(c.Value))
	}
	// The server's read/write timeouts are for requests, not for a feed
	// that stays open for days.
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Time{})
	_ = rc.SetWriteDeadline(time.Time{})
	// Subscribe before the handshake, then check the credentials again: a
	// logout racing with the connect is then either seen here or delivered
	// to the subscription, never lost in between.
	sub := a.hub.subscribe(me.ID, session)
	defer a.hub.unsubscribe(sub)
	if !a.stillValid(r.Context(), r) {
		a.writeError(w, r, errUnauthorized)
		return
	}
	conn, err := websocket.Accept(w, r, nil)
	if err != nil {
		return // Accept has answered
	}
	defer conn.CloseNow()

	ctx := conn.CloseRead(r.Context()) // the client sends nothing; pings are answered
	owned := map[int64]bool{}
	recheck := time.NewTicker(liveRecheck)
	defer recheck.Stop()
	version := time.NewTicker(credFresh)
	defer version.Stop()
	known := me.CredVersion
	for {
		select {
		case <-ctx.Done():
			return
		case <-sub.kick:
			conn.Close(websocket.StatusPolicyViolation, "session ended")
			return
		case <-version.C:
			if !a.credsStillHold(ctx, r, me.ID, &known) {
				conn.Close(websocket.StatusPolicyViolation, "credentials changed")
				return
			}
		case <-recheck.C:
			if !a.stillValid(ctx, r) {
				conn.Close(websocket.StatusPolicyViolation, "session ended")
				return
			}
		case e := <-sub.ch:
			if !a.owns(ctx, owned, u.ID, e) {
				continue
			}
			wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			err := wsjson.Write(wctx, conn, e)
			cancel()
			if err != nil {
				return
			}
		}
	}
}

// owns reports whether the event is about one of the user's monitors,
// remembering the answer per connection.
func (a *App) owns(ctx context.Context, cache map[int64]bool, userID int64, e LiveEvent) bool {
	if ok, known := cache[e.MonitorID]; known {
		if e.Type == "deleted" {
			delete(cache, e.MonitorID)
		}
		return ok
	}
	if e.Type == "deleted" {
		return false
	}
	_, err := a.st.GetMonitor(ctx, userID, e.MonitorID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return false // try again with the next event
	}
	cache[e.MonitorID] = err == nil
	return err == nil
}

// stillValid re-runs the request's authentication.
func (a *App) stillValid(ctx context.Context, r *http.Request) bool {
	if h := r.Header.Get("Authorization"); h != "" {
		_, err := a.bearerUser(ctx, strings.TrimSpace(h[len("Bearer "):]))
		return err == nil
	}
	_, ok, err := a.sessionUser(r.WithContext(ctx))
	return err == nil && ok
}
