-- no-transaction
-- Receipt tokens issued from now on carry their record's id, so a receipt is found by the
-- record's key and the token checked against its hash. The UNIQUE index of every token hash
-- goes: each consent wrote an entry at a random place of it, the largest cost of a consent
-- batch's commit after the address index (benches/NOTES.md, session 13). Tokens issued
-- before this migration name no record; their rows are marked `legacy_token = 1` and only
-- those keep an index of their hashes.
-- SQLite cannot drop a UNIQUE constraint, so the table is rebuilt (the documented procedure,
-- as in 0011: foreign keys off, outside a transaction, for the tables that reference it).
PRAGMA foreign_keys = OFF;
BEGIN;
CREATE TABLE consent_records_rebuilt (
    id                TEXT PRIMARY KEY,
    receipt_id        TEXT NOT NULL UNIQUE,
    subject_id        TEXT NOT NULL REFERENCES subjects (id),
    workshop_id       TEXT NOT NULL REFERENCES workshops (id),
    controller_id     TEXT NOT NULL,
    notice_id         TEXT NOT NULL,
    notice_version    INTEGER NOT NULL,
    notice_language   TEXT NOT NULL,
    notice_sha256     TEXT NOT NULL REFERENCES notice_texts (sha256),
    notice_content_sha256 TEXT NOT NULL, -- text and metadata (purposes, storage periods) shown
    collection_method TEXT NOT NULL,
    collector         TEXT,              -- the API token that submitted it, if any
    ip_truncated      TEXT,              -- personal: covered by the subject digest, erased with it
    user_agent        TEXT,
    token_sha256      TEXT NOT NULL,
    renews_record_id  TEXT,              -- re-consent: the earlier record this one renews
    recorded_at       TEXT NOT NULL,
    ledger_seq        INTEGER NOT NULL REFERENCES ledger (seq),
    legacy_token      INTEGER            -- 1: a token from before 0014, found by its hash
);
INSERT INTO consent_records_rebuilt (rowid, id, receipt_id, subject_id, workshop_id, controller_id,
        notice_id, notice_version, notice_language, notice_sha256, notice_content_sha256,
        collection_method, collector, ip_truncated, user_agent, token_sha256, renews_record_id,
        recorded_at, ledger_seq, legacy_token)
    SELECT rowid, id, receipt_id, subject_id, workshop_id, controller_id,
        notice_id, notice_version, notice_language, notice_sha256, notice_content_sha256,
        collection_method, collector, ip_truncated, user_agent, token_sha256, renews_record_id,
        recorded_at, ledger_seq, 1
    FROM consent_records;
DROP TABLE consent_records;
ALTER TABLE consent_records_rebuilt RENAME TO consent_records;
CREATE INDEX consent_records_by_subject ON consent_records (subject_id);
CREATE INDEX consent_records_by_workshop_seq ON consent_records (workshop_id, ledger_seq);
CREATE INDEX consent_records_by_renewal ON consent_records (renews_record_id) WHERE renews_record_id IS NOT NULL;
CREATE UNIQUE INDEX consent_records_by_legacy_token ON consent_records (token_sha256) WHERE legacy_token = 1;
COMMIT;
PRAGMA foreign_keys = ON;
