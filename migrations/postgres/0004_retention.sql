-- The deletion log: one row per deletion, never the deleted content; each row is chained in
-- the ledger in the same transaction as the deletion it records.
CREATE TABLE deletion_log (
    id                TEXT PRIMARY KEY,
    executed_at       TIMESTAMPTZ NOT NULL,
    category          TEXT NOT NULL,
    rule_version      BIGINT NOT NULL,
    start_on          DATE NOT NULL,
    due_on            DATE NOT NULL,
    subject_pseudonym TEXT,             -- keyed HMAC, not a plain hash
    target            TEXT NOT NULL,    -- table and field names, never values
    rows_affected     BIGINT NOT NULL,
    ledger_seq        BIGINT NOT NULL REFERENCES ledger (seq)
);
CREATE INDEX deletion_log_by_time ON deletion_log (executed_at);

-- Keys the service generates for itself (the pseudonym key of the deletion log).
CREATE TABLE service_keys (
    name       TEXT PRIMARY KEY,
    key_hex    TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
