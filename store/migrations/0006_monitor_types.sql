-- Monitor kinds: every monitor has a type (http, tcp, ping, dns, tls, push)
-- and the type's own settings as a JSON object. Existing monitors become
-- HTTP monitors with no extra settings: their URL and request columns keep
-- meaning what they meant, and nothing else changes for them.
ALTER TABLE monitors ADD COLUMN type TEXT NOT NULL DEFAULT 'http';
ALTER TABLE monitors ADD COLUMN settings TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(settings));

-- Degraded: a state between up and down. A check slower than
-- degraded_latency_us (0: off), or one its probe marks degraded (a
-- certificate close to expiry, some ping loss), passes but counts as
-- degraded. Alerting on it is chosen per monitor.
ALTER TABLE monitors ADD COLUMN degraded_latency_us INTEGER NOT NULL DEFAULT 0;
ALTER TABLE monitors ADD COLUMN alert_degraded INTEGER NOT NULL DEFAULT 0 CHECK (alert_degraded IN (0, 1));

-- Push monitors are pinged at /ping/<push_token>; the token is the secret,
-- shown to its owner in the push URL, so it is stored as is.
ALTER TABLE monitors ADD COLUMN push_token TEXT;
CREATE UNIQUE INDEX monitors_push_token ON monitors (push_token) WHERE push_token IS NOT NULL;

-- What the newest check saw, for the monitor's page: whether it was
-- degraded, one line of detail (a DNS answer, ping loss, a certificate),
-- the certificate's expiry for TLS-speaking checks, and a push's body.
ALTER TABLE monitors ADD COLUMN last_degraded INTEGER CHECK (last_degraded IN (0, 1));
ALTER TABLE monitors ADD COLUMN last_detail TEXT;
ALTER TABLE monitors ADD COLUMN cert_expires_at INTEGER;
ALTER TABLE monitors ADD COLUMN last_body TEXT;

-- Degraded checks are up checks (ok = 1) that were also degraded; the
-- roll-ups count them beside up, so uptime stays up/(up+down) and degraded
-- time is reported next to it.
ALTER TABLE checks ADD COLUMN degraded INTEGER NOT NULL DEFAULT 0 CHECK (degraded IN (0, 1));
ALTER TABLE hourly ADD COLUMN degraded INTEGER NOT NULL DEFAULT 0;
ALTER TABLE daily ADD COLUMN degraded INTEGER NOT NULL DEFAULT 0;
