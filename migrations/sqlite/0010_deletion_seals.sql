-- The ledger entries a deletion removed (tombstone) or anonymised, with the hash of what
-- is left: `12 13=<sha256>` (see domain::ledger::Seal). Part of the entry's payload hash.
ALTER TABLE deletion_log ADD COLUMN sealed TEXT;

-- The staff audit log and the deletion log are swept page by page in the order they were
-- written (keyset on time and id); these replace the indexes on time alone.
DROP INDEX audit_events_by_time;
CREATE INDEX audit_events_by_time_id ON audit_events (at, id);
DROP INDEX deletion_log_by_time;
CREATE INDEX deletion_log_by_time_id ON deletion_log (executed_at, id);
