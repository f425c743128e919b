-- Sessions remember the browser they were opened from and when they were
-- last used, so a user can tell them apart before revoking one.
ALTER TABLE sessions ADD COLUMN user_agent TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN last_seen_at INTEGER;

-- Long-lived API tokens for scripts. Only a hash of the token is kept; the
-- prefix (the first characters of the token) lets a user recognise it.
CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT    NOT NULL,
    prefix       TEXT    NOT NULL,
    token_hash   BLOB    NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    expires_at   INTEGER
) STRICT;

CREATE INDEX api_tokens_user_id ON api_tokens (user_id);
