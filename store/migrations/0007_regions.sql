-- Regions: a monitor is checked from each of its regions ('[]' means the
-- instance's default regions), and is DOWN when at least quorum of them
-- see it down (0: a majority).
ALTER TABLE monitors ADD COLUMN regions TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(regions));
ALTER TABLE monitors ADD COLUMN quorum INTEGER NOT NULL DEFAULT 0 CHECK (quorum >= 0);
