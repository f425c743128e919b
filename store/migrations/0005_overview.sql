-- Status counts of a user's monitors (the overview's header and every live
-- page's favicon) read this index alone instead of every monitor row.
CREATE INDEX monitors_user_status ON monitors (user_id, status);
