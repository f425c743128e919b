-- Worker tokens let an `upwatch worker` join over the server's HTTPS worker
-- endpoint. A token is scoped to regions (a JSON array of names) and can do
-- nothing else. Only a hash of the token is kept; the prefix (its first
-- characters) lets an admin recognise it. A revoked token stays listed,
-- refused, with when it was revoked.
CREATE TABLE worker_tokens (
    id           INTEGER PRIMARY KEY,
    name         TEXT    NOT NULL,
    regions      TEXT    NOT NULL CHECK (json_valid(regions) AND json_type(regions) = 'array'),
    prefix       TEXT    NOT NULL,
    token_hash   BLOB    NOT NULL UNIQUE,
    created_by   INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at   INTEGER
) STRICT;
