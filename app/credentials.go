package app

import (
	"context"
	"sync"
	"time"
)

// credFresh is how long a live connection trusts a user's credential
// version read from the store before reading it again. Requests never use
// this cache: each reads its user's row anyway and compares the version
// there. A change made by this process takes effect at once (credentialsEnded
// forgets the entry and closes the feeds); one made by another process (the
// `upwatch user password` command) within about this long.
const credFresh = time.Second

// credCache remembers users' credential versions briefly, so that every
// open live feed can re-check its user's each second for one store read per
// user and second, whatever the number of feeds.
type credCache struct {
	mu sync.Mutex
	m  map[int64]credEntry
}

type credEntry struct {
	version  int64
	disabled bool
	at       time.Time
}

// credVersion is the user's current credential version and whether the
// account is disabled, at most credFresh old.
func (a *App) credVersion(ctx context.Context, userID int64) (int64, bool, error) {
	now := a.now()
	c := &a.creds
	c.mu.Lock()
	e, ok := c.m[userID]
	c.mu.Unlock()
	if ok && now.Sub(e.at) < credFresh && !now.Before(e.at) {
		return e.version, e.disabled, nil
	}
	v, disabled, err := a.st.UserCredVersion(ctx, userID)
	if err != nil {
		return 0, false, err
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) > 10_000 {
		c.m = map[int64]credEntry{} // bounded: forgetting only costs a read
	}
	c.m[userID] = credEntry{version: v, disabled: disabled, at: now}
	c.mu.Unlock()
	return v, disabled, nil
}

// credentialsEnded is called right after the store moved a user's
// credential version on (password change or reset, disable or enable,
// admin flag change): the cached version is dropped and the user's live
// feeds are closed, except those of keepSession (the browser that changed
// its own password, re-stamped by the store).
func (a *App) credentialsEnded(userID int64, keepSession []byte) {
	a.creds.mu.Lock()
	delete(a.creds.m, userID)
	a.creds.mu.Unlock()
	a.hub.RevokeUser(userID, string(keepSession))
}
