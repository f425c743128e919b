-- Conventions for every table: times are INTEGER Unix milliseconds (UTC),
-- durations INTEGER microseconds (*_us), booleans INTEGER 0/1, and tables
-- are STRICT so a wrong type is an error instead of a silent conversion.
-- Status columns carry no CHECK list: new statuses (e.g. maintenance) must
-- not need a table rebuild.

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    email         TEXT    NOT NULL UNIQUE, -- trimmed and lowercased by the store
    password_hash TEXT    NOT NULL,
    admin         INTEGER NOT NULL DEFAULT 0 CHECK (admin IN (0, 1)),
    disabled      INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    created_at    INTEGER NOT NULL
) STRICT;

-- Only a hash of the session token is kept, so a leaked database does not
-- hand out live sessions.
CREATE TABLE sessions (
    token_hash BLOB    PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE INDEX sessions_user_id ON sessions (user_id);
CREATE INDEX sessions_expires_at ON sessions (expires_at);

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE monitors (
    id               INTEGER PRIMARY KEY,
    user_id          INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name             TEXT    NOT NULL,
    url              TEXT    NOT NULL,
    method           TEXT    NOT NULL,
    headers          TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(headers)),
    body             TEXT    NOT NULL DEFAULT '',
    interval_us      INTEGER NOT NULL,
    timeout_us       INTEGER NOT NULL,
    expected_status  TEXT    NOT NULL,
    follow_redirects INTEGER NOT NULL CHECK (follow_redirects IN (0, 1)),
    verify_tls       INTEGER NOT NULL CHECK (verify_tls IN (0, 1)),
    confirmations    INTEGER NOT NULL,
    paused           INTEGER NOT NULL DEFAULT 0 CHECK (paused IN (0, 1)),
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,

    -- State, written by the checker's result sink and by pause/resume.
    status       TEXT    NOT NULL,
    status_since INTEGER NOT NULL,
    fail_streak  INTEGER NOT NULL DEFAULT 0,

    -- The newest check, copied here so the overview page reads one table.
    -- NULL until the first check is stored.
    last_check_at    INTEGER,
    last_ok          INTEGER CHECK (last_ok IN (0, 1)),
    last_status_code INTEGER,
    last_latency_us  INTEGER,
    last_reason      TEXT,
    last_error       TEXT,
    last_region      TEXT
) STRICT;

-- Ordered by id within a user too: every index entry ends with the rowid.
CREATE INDEX monitors_user_id ON monitors (user_id);

-- One row per probe result, appended in arrival order (rowid): a batch of
-- results for many monitors then writes one hot page at the table's end
-- plus one leaf of the index below, instead of two random leaves per check.
CREATE TABLE checks (
    id          INTEGER PRIMARY KEY,
    monitor_id  INTEGER NOT NULL REFERENCES monitors (id) ON DELETE CASCADE,
    region      TEXT    NOT NULL,
    ts          INTEGER NOT NULL,
    ok          INTEGER NOT NULL CHECK (ok IN (0, 1)),
    status_code INTEGER NOT NULL DEFAULT 0,
    latency_us  INTEGER NOT NULL DEFAULT 0,
    dns_us      INTEGER NOT NULL DEFAULT 0,
    connect_us  INTEGER NOT NULL DEFAULT 0,
    tls_us      INTEGER NOT NULL DEFAULT 0,
    ttfb_us     INTEGER NOT NULL DEFAULT 0,
    transfer_us INTEGER NOT NULL DEFAULT 0,
    reason      TEXT    NOT NULL DEFAULT '',
    error       TEXT    NOT NULL DEFAULT ''
) STRICT;

-- (monitor_id, ts, region) is a result's identity, which makes results
-- redelivered by the queue harmless; the same index serves newest-first
-- reads and time-window scans of one monitor (a ts-only index would make
-- the planner scan every monitor).
CREATE UNIQUE INDEX checks_monitor_ts_region ON checks (monitor_id, ts, region);

CREATE TABLE monitor_transitions (
    id          INTEGER PRIMARY KEY,
    monitor_id  INTEGER NOT NULL REFERENCES monitors (id) ON DELETE CASCADE,
    ts          INTEGER NOT NULL,
    from_status TEXT    NOT NULL,
    to_status   TEXT    NOT NULL,
    reason      TEXT    NOT NULL DEFAULT '',
    error       TEXT    NOT NULL DEFAULT ''
) STRICT;

CREATE INDEX monitor_transitions_monitor_ts ON monitor_transitions (monitor_id, ts);
