-- The key of the row each deletion changed (a random id, never content), so that
-- `retention replay` can delete it again after a backup is restored; and, for entries the
-- replay writes, the entry they re-apply.
ALTER TABLE deletion_log ADD COLUMN row_key TEXT;
ALTER TABLE deletion_log ADD COLUMN replay_of TEXT;

-- Sweeps page through the subjects that still hold contact data; erased ones stay out of
-- the index, so a sweep does not walk years of anonymised rows; it reads them in the order
-- they were created, which is the order they lie on disk.
CREATE INDEX subjects_not_erased ON subjects (created_at, id) WHERE erased_at IS NULL;

-- Replay asks whether a journal entry was re-applied already.
CREATE INDEX deletion_log_by_replay ON deletion_log (replay_of) WHERE replay_of IS NOT NULL;
