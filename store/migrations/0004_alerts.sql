-- Alert delivery: notification channels, which monitors alert which
-- channels, and a durable outbox of deliveries that the dispatcher
-- (notify.Dispatcher) sends and retries. Deliveries are enqueued in the
-- same transaction as the state change that causes them, so an alert is
-- never lost by a crash and, thanks to the unique event key, never queued
-- twice by a redelivered batch.

-- A user's notification channel. settings is the provider's JSON object,
-- secrets included: the store does not redact, the app does.
CREATE TABLE channels (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name       TEXT    NOT NULL,
    type       TEXT    NOT NULL,
    settings   TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(settings)),
    enabled    INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    is_default INTEGER NOT NULL DEFAULT 0 CHECK (is_default IN (0, 1)), -- linked to new monitors
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;

CREATE INDEX channels_user_id ON channels (user_id);

-- Which channels a monitor alerts.
CREATE TABLE monitor_channels (
    monitor_id INTEGER NOT NULL REFERENCES monitors (id) ON DELETE CASCADE,
    channel_id INTEGER NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    PRIMARY KEY (monitor_id, channel_id)
) STRICT, WITHOUT ROWID;

-- Deleting a channel finds its links.
CREATE INDEX monitor_channels_channel_id ON monitor_channels (channel_id);

-- Remind every N minutes while an incident stays open; 0 = never.
ALTER TABLE monitors ADD COLUMN reminder_minutes INTEGER NOT NULL DEFAULT 0 CHECK (reminder_minutes >= 0);

-- One message to one channel about one event. (channel_id, event_key) is
-- the event's identity, e.g. 'incident:12:down', 'incident:12:reminder:3'
-- or 'test:<random>': enqueueing it again is a no-op. event is a JSON
-- snapshot of what to say, taken when enqueued, so a renamed monitor
-- still alerts with the name it had. monitor_id and incident_id are NULL
-- for test messages.
--
-- status: pending (waiting for next_attempt_at) -> sending (claimed by a
-- dispatcher; attempts counts it) -> sent | pending again (a retry) |
-- failed (out of attempts, or an error that retrying cannot fix).
CREATE TABLE deliveries (
    id              INTEGER PRIMARY KEY,
    channel_id      INTEGER NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    monitor_id      INTEGER REFERENCES monitors (id) ON DELETE CASCADE,
    incident_id     INTEGER REFERENCES incidents (id) ON DELETE CASCADE,
    kind            TEXT    NOT NULL, -- down|up|reminder|test
    event_key       TEXT    NOT NULL,
    status          TEXT    NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    event           TEXT    NOT NULL CHECK (json_valid(event)),
    created_at      INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    sent_at         INTEGER,
    last_error      TEXT    NOT NULL DEFAULT '',
    UNIQUE (channel_id, event_key)
) STRICT;

-- The dispatcher's question: which pending deliveries are due? (Also finds
-- the few rows in 'sending'.)
CREATE INDEX deliveries_due ON deliveries (status, next_attempt_at);
-- A channel's log, newest first; also how pruning walks the table.
CREATE INDEX deliveries_channel_created ON deliveries (channel_id, created_at);
-- A monitor's earlier deliveries to a channel, which must go out first;
-- also serves the cascade from monitors.
CREATE INDEX deliveries_monitor_channel ON deliveries (monitor_id, channel_id, status);
-- The cascade from incidents, and cancelling an incident's reminders.
CREATE INDEX deliveries_incident_id ON deliveries (incident_id);

-- Every attempt to send a delivery, for the channel's log.
CREATE TABLE delivery_attempts (
    id          INTEGER PRIMARY KEY,
    delivery_id INTEGER NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    at          INTEGER NOT NULL,
    ok          INTEGER NOT NULL CHECK (ok IN (0, 1)),
    error       TEXT    NOT NULL DEFAULT '',
    duration_us INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE INDEX delivery_attempts_delivery_id ON delivery_attempts (delivery_id);
