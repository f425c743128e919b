-- Maintenance windows (issue 12). A window is one-off (starts_at,
-- ends_at), weekly (days, start_time, end_time) or a cron expression with a
-- duration, in a time zone. It covers the monitors listed in
-- maintenance_monitors; maintenance_tags is kept ready for tags, which
-- another issue brings (a window then also covers the monitors of its tags).
CREATE TABLE maintenance (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title       TEXT    NOT NULL,
    kind        TEXT    NOT NULL CHECK (kind IN ('once', 'weekly', 'cron')),
    starts_at   INTEGER,                 -- once: Unix ms; recurring: optional first day
    ends_at     INTEGER,                 -- once: Unix ms; recurring: optional last moment
    days        TEXT    NOT NULL DEFAULT '',  -- weekly: "mon,wed"
    start_time  TEXT    NOT NULL DEFAULT '',  -- weekly: "HH:MM" wall clock
    end_time    TEXT    NOT NULL DEFAULT '',  -- weekly: "HH:MM" (before start: the next day)
    cron        TEXT    NOT NULL DEFAULT '',
    duration_s  INTEGER NOT NULL DEFAULT 0 CHECK (duration_s >= 0),
    timezone    TEXT    NOT NULL DEFAULT 'UTC',
    notify      INTEGER NOT NULL DEFAULT 0 CHECK (notify IN (0, 1)),
    created_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX maintenance_user ON maintenance (user_id);

CREATE TABLE maintenance_monitors (
    maintenance_id INTEGER NOT NULL REFERENCES maintenance (id) ON DELETE CASCADE,
    monitor_id     INTEGER NOT NULL REFERENCES monitors (id) ON DELETE CASCADE,
    PRIMARY KEY (maintenance_id, monitor_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX maintenance_monitors_monitor ON maintenance_monitors (monitor_id);

CREATE TABLE maintenance_tags (
    maintenance_id INTEGER NOT NULL REFERENCES maintenance (id) ON DELETE CASCADE,
    tag            TEXT    NOT NULL,
    PRIMARY KEY (maintenance_id, tag)
) STRICT, WITHOUT ROWID;

-- A check taken during a window is marked; the roll-ups count such checks
-- in maint, apart from up and down (degraded is counted within up), so
-- uptime = up / (up + down) leaves maintenance out with no change to its
-- readers.
ALTER TABLE checks ADD COLUMN maintenance INTEGER NOT NULL DEFAULT 0 CHECK (maintenance IN (0, 1));
ALTER TABLE hourly ADD COLUMN maint INTEGER NOT NULL DEFAULT 0;
ALTER TABLE daily ADD COLUMN maint INTEGER NOT NULL DEFAULT 0;
