package app

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/upwatch/upwatch/store"
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

// credsStillHold is a live feed's check each credFresh: the user's
// credential version is still the one the feed knows (*known), or it moved
// on and the feed's own credential was carried over (the session that
// changed its own password), which then becomes the known version. A
// failed read keeps the feed open; the periodic full recheck decides.
func (a *App) credsStillHold(ctx context.Context, r *http.Request, userID int64, known *int64) bool {
	v, disabled, err := a.credVersion(ctx, userID)
	switch {
	case errors.Is(err, store.ErrNotFound) || (err == nil && disabled):
		return false
	case err != nil || v == *known:
		return true
	case !a.stillValid(ctx, r):
		return false
	}
	*known = v
	return true
}

// checkCurrentPassword verifies a signed-in user's current password
// (before a change), throttled like a sign-in, so that a stolen session
// cannot guess the password it would need to take the account over:
// errBadLogin when wrong, a 429 apiError (Retry-After set) when throttled.
func (a *App) checkCurrentPassword(r *http.Request, w http.ResponseWriter, u store.User, password string) error {
	return a.throttled(r, w, u.Email, func() error {
		ok, err := a.hash.Verify(r.Context(), password, u.PasswordHash)
		if err == nil && !ok {
			err = errBadLogin
		}
		return err
	})
}
