-- Fair limits. A user's own quotas, set by an admin: a JSON object of
-- limits by kind ({"monitors": 2000}); a kind left out follows the
-- instance's default (QUOTA_* settings). New kinds (status pages) need
-- no migration.
ALTER TABLE users ADD COLUMN quotas TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(quotas) AND json_type(quotas) = 'object');
