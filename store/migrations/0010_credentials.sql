-- Credentials that end. Every user has a credential version; sessions and
-- API tokens are stamped with the version they were made under, JWTs carry
-- it in a claim. A password change or reset, disabling an account and a
-- change of its admin flag bump the version, so everything issued before
-- stops working at once. Existing rows start at 1 and keep working.
ALTER TABLE users ADD COLUMN cred_version INTEGER NOT NULL DEFAULT 1 CHECK (cred_version >= 1);
ALTER TABLE sessions ADD COLUMN cred_version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE api_tokens ADD COLUMN cred_version INTEGER NOT NULL DEFAULT 1;

-- Ids are never reused. SQLite gives a new row max(rowid) + 1, so deleting
-- the newest monitor (or user, channel, token) handed its id to the next
-- one, and anything still naming the old id (a result in flight, a JWT)
-- met the new row. id_marks keeps the highest id each table ever had; the
-- store inserts new rows with high + 1, and a trigger keeps the mark up
-- to date on every insert, whichever way a row arrives. (A rebuild into
-- AUTOINCREMENT tables would need foreign keys off across eight tables
-- that reference them; this keeps every table, key and row as it is.)
CREATE TABLE id_marks (
    tbl  TEXT    PRIMARY KEY,
    high INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

INSERT INTO id_marks (tbl, high) SELECT 'users', coalesce(max(id), 0) FROM users;
INSERT INTO id_marks (tbl, high) SELECT 'monitors', coalesce(max(id), 0) FROM monitors;
INSERT INTO id_marks (tbl, high) SELECT 'channels', coalesce(max(id), 0) FROM channels;
INSERT INTO id_marks (tbl, high) SELECT 'api_tokens', coalesce(max(id), 0) FROM api_tokens;
INSERT INTO id_marks (tbl, high) SELECT 'worker_tokens', coalesce(max(id), 0) FROM worker_tokens;

CREATE TRIGGER users_id_mark AFTER INSERT ON users BEGIN
    UPDATE id_marks SET high = NEW.id WHERE tbl = 'users' AND high < NEW.id;
END;
CREATE TRIGGER monitors_id_mark AFTER INSERT ON monitors BEGIN
    UPDATE id_marks SET high = NEW.id WHERE tbl = 'monitors' AND high < NEW.id;
END;
CREATE TRIGGER channels_id_mark AFTER INSERT ON channels BEGIN
    UPDATE id_marks SET high = NEW.id WHERE tbl = 'channels' AND high < NEW.id;
END;
CREATE TRIGGER api_tokens_id_mark AFTER INSERT ON api_tokens BEGIN
    UPDATE id_marks SET high = NEW.id WHERE tbl = 'api_tokens' AND high < NEW.id;
END;
CREATE TRIGGER worker_tokens_id_mark AFTER INSERT ON worker_tokens BEGIN
    UPDATE id_marks SET high = NEW.id WHERE tbl = 'worker_tokens' AND high < NEW.id;
END;
