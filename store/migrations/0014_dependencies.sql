-- Monitor dependencies (issue 12): while a parent is down its children
-- show "unreachable" instead of down, open no incident and send no alert.
-- The graph has no cycles; the store refuses an edge that would close one.
CREATE TABLE monitor_dependencies (
    monitor_id INTEGER NOT NULL REFERENCES monitors (id) ON DELETE CASCADE,
    parent_id  INTEGER NOT NULL REFERENCES monitors (id) ON DELETE CASCADE,
    PRIMARY KEY (monitor_id, parent_id),
    CHECK (monitor_id <> parent_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX monitor_dependencies_parent ON monitor_dependencies (parent_id);
