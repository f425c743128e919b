-- Which worker ran each check. Names are kept once in check_workers and
-- each check holds a small integer (0: unknown, e.g. checks from before
-- this version or the server's own push evaluation), so the per-check
-- cost is a byte or two rather than the name.
CREATE TABLE check_workers (
    id   INTEGER PRIMARY KEY,
    name TEXT    NOT NULL UNIQUE
) STRICT;

ALTER TABLE checks ADD COLUMN worker_id INTEGER NOT NULL DEFAULT 0;
