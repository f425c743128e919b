-- Flapping (issue 12): more than `changes` state changes within
-- `window_s` marks a monitor flapping (one alert, then a summary when it
-- settles). A monitor without a row takes the defaults (5 in 30 minutes);
-- changes = 0 turns detection off.
CREATE TABLE monitor_flapping (
    monitor_id INTEGER PRIMARY KEY REFERENCES monitors (id) ON DELETE CASCADE,
    changes    INTEGER NOT NULL CHECK (changes >= 0),
    window_s   INTEGER NOT NULL CHECK (window_s > 0)
) STRICT;
