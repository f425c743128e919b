-- Roles. A user is an admin (manages users and the instance), a member
-- (manages their own monitors and channels) or a viewer (reads the
-- monitors of one account, owner_id, and changes nothing but their own
-- password and sessions). The admin column stays, kept equal to
-- role = 'admin' by the store, for the queries that read it.
ALTER TABLE users ADD COLUMN role TEXT NOT NULL DEFAULT 'member' CHECK (role IN ('admin', 'member', 'viewer'));
ALTER TABLE users ADD COLUMN owner_id INTEGER REFERENCES users (id) ON DELETE SET NULL;
UPDATE users SET role = 'admin' WHERE admin = 1;

-- API tokens are scoped: 'read' tokens are refused on every route that
-- changes something, 'metrics' tokens on every route but /metrics.
ALTER TABLE api_tokens ADD COLUMN scope TEXT NOT NULL DEFAULT 'write' CHECK (scope IN ('read', 'write', 'metrics'));
