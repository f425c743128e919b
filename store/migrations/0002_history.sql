-- History that scales: every history question (uptime, latency charts,
-- history bars) is answered from the two roll-up tables below, so its cost
-- grows with the length of the range asked for, not with the number of raw
-- checks stored. SaveChecks updates both in the same transaction as the
-- checks it inserts.
--
-- Roll-ups are keyed like checks, monitor first, so one monitor's range is
-- one B-tree seek; WITHOUT ROWID because the key is the only way in and a
-- second rowid B-tree would double the writes of every upsert.
--
-- Counting rule: every check counts in up/down (uptime); only checks that
-- have a latency (ok = 1 or a status code was received) count in lat_* and
-- the histogram, so timeouts and refused connections do not drag the
-- latency figures to 0 or to the timeout.

-- One row per monitor, region and hour; pruned after ~400 days.
CREATE TABLE hourly (
    monitor_id  INTEGER NOT NULL REFERENCES monitors (id) ON DELETE CASCADE,
    ts          INTEGER NOT NULL, -- start of the hour (Unix ms, UTC)
    region      TEXT    NOT NULL,
    up          INTEGER NOT NULL DEFAULT 0, -- checks that were ok
    down        INTEGER NOT NULL DEFAULT 0, -- checks that failed
    lat_n       INTEGER NOT NULL DEFAULT 0, -- checks with a latency: ok or answered with a status
    lat_sum_us  INTEGER NOT NULL DEFAULT 0,
    lat_min_us  INTEGER NOT NULL DEFAULT 0, -- 0 while lat_n = 0
    lat_max_us  INTEGER NOT NULL DEFAULT 0,
    dns_us      INTEGER NOT NULL DEFAULT 0, -- phase sums over the same lat_n checks
    connect_us  INTEGER NOT NULL DEFAULT 0,
    tls_us      INTEGER NOT NULL DEFAULT 0,
    ttfb_us     INTEGER NOT NULL DEFAULT 0,
    transfer_us INTEGER NOT NULL DEFAULT 0,
    -- Latency histogram over the lat_n checks: hNN counts latencies below
    -- LatencyBounds()[NN] and at or above the previous bound; h19 is the rest.
    h00         INTEGER NOT NULL DEFAULT 0,
    h01         INTEGER NOT NULL DEFAULT 0,
    h02         INTEGER NOT NULL DEFAULT 0,
    h03         INTEGER NOT NULL DEFAULT 0,
    h04         INTEGER NOT NULL DEFAULT 0,
    h05         INTEGER NOT NULL DEFAULT 0,
    h06         INTEGER NOT NULL DEFAULT 0,
    h07         INTEGER NOT NULL DEFAULT 0,
    h08         INTEGER NOT NULL DEFAULT 0,
    h09         INTEGER NOT NULL DEFAULT 0,
    h10         INTEGER NOT NULL DEFAULT 0,
    h11         INTEGER NOT NULL DEFAULT 0,
    h12         INTEGER NOT NULL DEFAULT 0,
    h13         INTEGER NOT NULL DEFAULT 0,
    h14         INTEGER NOT NULL DEFAULT 0,
    h15         INTEGER NOT NULL DEFAULT 0,
    h16         INTEGER NOT NULL DEFAULT 0,
    h17         INTEGER NOT NULL DEFAULT 0,
    h18         INTEGER NOT NULL DEFAULT 0,
    h19         INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (monitor_id, ts, region)
) STRICT, WITHOUT ROWID;

-- One row per monitor, region and UTC day; kept for ever (a few hundred bytes
-- per monitor and region a day).
CREATE TABLE daily (
    monitor_id  INTEGER NOT NULL REFERENCES monitors (id) ON DELETE CASCADE,
    ts          INTEGER NOT NULL, -- start of the UTC day (Unix ms, UTC)
    region      TEXT    NOT NULL,
    up          INTEGER NOT NULL DEFAULT 0, -- checks that were ok
    down        INTEGER NOT NULL DEFAULT 0, -- checks that failed
    lat_n       INTEGER NOT NULL DEFAULT 0, -- checks with a latency: ok or answered with a status
    lat_sum_us  INTEGER NOT NULL DEFAULT 0,
    lat_min_us  INTEGER NOT NULL DEFAULT 0, -- 0 while lat_n = 0
    lat_max_us  INTEGER NOT NULL DEFAULT 0,
    dns_us      INTEGER NOT NULL DEFAULT 0, -- phase sums over the same lat_n checks
    connect_us  INTEGER NOT NULL DEFAULT 0,
    tls_us      INTEGER NOT NULL DEFAULT 0,
    ttfb_us     INTEGER NOT NULL DEFAULT 0,
    transfer_us INTEGER NOT NULL DEFAULT 0,
    -- Latency histogram over the lat_n checks: hNN counts latencies below
    -- LatencyBounds()[NN] and at or above the previous bound; h19 is the rest.
    h00         INTEGER NOT NULL DEFAULT 0,
    h01         INTEGER NOT NULL DEFAULT 0,
    h02         INTEGER NOT NULL DEFAULT 0,
    h03         INTEGER NOT NULL DEFAULT 0,
    h04         INTEGER NOT NULL DEFAULT 0,
    h05         INTEGER NOT NULL DEFAULT 0,
    h06         INTEGER NOT NULL DEFAULT 0,
    h07         INTEGER NOT NULL DEFAULT 0,
    h08         INTEGER NOT NULL DEFAULT 0,
    h09         INTEGER NOT NULL DEFAULT 0,
    h10         INTEGER NOT NULL DEFAULT 0,
    h11         INTEGER NOT NULL DEFAULT 0,
    h12         INTEGER NOT NULL DEFAULT 0,
    h13         INTEGER NOT NULL DEFAULT 0,
    h14         INTEGER NOT NULL DEFAULT 0,
    h15         INTEGER NOT NULL DEFAULT 0,
    h16         INTEGER NOT NULL DEFAULT 0,
    h17         INTEGER NOT NULL DEFAULT 0,
    h18         INTEGER NOT NULL DEFAULT 0,
    h19         INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (monitor_id, ts, region)
) STRICT, WITHOUT ROWID;

-- A period of a monitor being DOWN. Opened by a transition to down in the
-- same transaction as the state change; resolved by the transition out of
-- down or by pausing the monitor.
CREATE TABLE incidents (
    id          INTEGER PRIMARY KEY,
    monitor_id  INTEGER NOT NULL REFERENCES monitors (id) ON DELETE CASCADE,
    started_at  INTEGER NOT NULL,
    resolved_at INTEGER, -- NULL while open
    reason      TEXT    NOT NULL DEFAULT '',
    error       TEXT    NOT NULL DEFAULT '',
    status_code INTEGER NOT NULL DEFAULT 0,
    excerpt     TEXT    NOT NULL DEFAULT '', -- at most 1 KiB, cut on a UTF-8 boundary
    acked_by    INTEGER REFERENCES users (id) ON DELETE SET NULL,
    acked_at    INTEGER,
    CHECK (resolved_at IS NULL OR resolved_at >= started_at)
) STRICT;

-- At most one open incident per monitor; also how the open one is found.
CREATE UNIQUE INDEX incidents_open_monitor ON incidents (monitor_id) WHERE resolved_at IS NULL;
-- A monitor's incidents newest first.
CREATE INDEX incidents_monitor_started ON incidents (monitor_id, started_at);
-- Lets deleting a user find the acknowledgements to clear.
CREATE INDEX incidents_acked_by ON incidents (acked_by) WHERE acked_by IS NOT NULL;
