-- Escalation (issue 12): an incident still unacknowledged after
-- after_minutes is sent to a second set of channels. A row with a
-- monitor_id is that monitor's policy; one without is the user's default
-- for monitors without their own. Acknowledging stops it (and reminders).
CREATE TABLE escalations (
    user_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    monitor_id    INTEGER REFERENCES monitors (id) ON DELETE CASCADE,
    after_minutes INTEGER NOT NULL CHECK (after_minutes > 0),
    channels      TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(channels))
) STRICT;
CREATE UNIQUE INDEX escalations_owner ON escalations (user_id, coalesce(monitor_id, 0));
CREATE INDEX escalations_monitor ON escalations (monitor_id);
