-- Change counters: every write to a table whose rows instances cache bumps its counter in the
-- same transaction, and instances poll the counters to know when to drop their copies.
CREATE TABLE generations (
    name  TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO generations (name, value) VALUES ('clients', 0);
