-- Confirmation and recovery periods (issue 12), beside the confirmations
-- count: a monitor goes DOWN only after failing for confirm_s seconds
-- (and its confirmations), and resolves only after passing for
-- recover_s seconds. A monitor without a row has neither (0).
CREATE TABLE monitor_periods (
    monitor_id INTEGER PRIMARY KEY REFERENCES monitors (id) ON DELETE CASCADE,
    confirm_s  INTEGER NOT NULL DEFAULT 0 CHECK (confirm_s >= 0),
    recover_s  INTEGER NOT NULL DEFAULT 0 CHECK (recover_s >= 0)
) STRICT;
