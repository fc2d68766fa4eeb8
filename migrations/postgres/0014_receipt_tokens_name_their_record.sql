-- Receipt tokens issued from now on carry their record's id, so a receipt is found by the
-- record's key and the token checked against its hash. The UNIQUE index of every token hash
-- goes: each consent wrote an entry at a random place of it (benches/NOTES.md, session 13).
-- Tokens issued before this migration name no record; their rows are marked
-- `legacy_token = 1` and only those keep an index of their hashes.
ALTER TABLE consent_records ADD COLUMN legacy_token INTEGER; -- 1: a token from before 0014
UPDATE consent_records SET legacy_token = 1;
ALTER TABLE consent_records DROP CONSTRAINT consent_records_token_sha256_key;
CREATE UNIQUE INDEX consent_records_by_legacy_token ON consent_records (token_sha256) WHERE legacy_token = 1;
