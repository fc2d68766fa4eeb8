-- no-transaction
-- The ledger's entry hashes lose their UNIQUE index. Nothing looks an entry up by its
-- hash, the chain makes every hash distinct (each covers the one before), and `verify`
-- checks the chain; the index only cost a random B-tree insert per appended entry, the
-- largest single cost of a retention sweep. SQLite cannot drop a UNIQUE constraint, so the
-- table is rebuilt (the documented procedure: foreign keys off, outside a transaction, for
-- the tables that reference ledger (seq)).
PRAGMA foreign_keys = OFF;
BEGIN;
CREATE TABLE ledger_rebuilt (
    seq            INTEGER PRIMARY KEY,
    recorded_at    TEXT NOT NULL,
    kind           TEXT NOT NULL,
    ref_id         TEXT NOT NULL, -- the consent record or audit event the entry is about
    payload_sha256 TEXT NOT NULL,
    prev_sha256    TEXT NOT NULL,
    entry_sha256   TEXT NOT NULL
);
INSERT INTO ledger_rebuilt (seq, recorded_at, kind, ref_id, payload_sha256, prev_sha256, entry_sha256)
    SELECT seq, recorded_at, kind, ref_id, payload_sha256, prev_sha256, entry_sha256 FROM ledger;
DROP TABLE ledger;
ALTER TABLE ledger_rebuilt RENAME TO ledger;
CREATE INDEX ledger_by_ref ON ledger (ref_id);
COMMIT;
PRAGMA foreign_keys = ON;
