-- The truncated address and user agent a consent was given from are the participant's personal
-- data: the subject digest covers them, and they are anonymised with the contact data. They
-- move from the record into `subjects`, where the rest of it lives ("personal data lives here
-- and only here"), so that anonymising a participant rewrites one row, not two: a sweep wrote
-- every page of `consent_records` again to null two short fields (benches/NOTES.md, session
-- 19). Each record has a subject of its own, so each value has one place to go.
ALTER TABLE subjects ADD COLUMN ip_truncated TEXT;
ALTER TABLE subjects ADD COLUMN user_agent TEXT;
UPDATE subjects SET
    ip_truncated = (SELECT r.ip_truncated FROM consent_records r WHERE r.subject_id = subjects.id),
    user_agent = (SELECT r.user_agent FROM consent_records r WHERE r.subject_id = subjects.id)
WHERE EXISTS (SELECT 1 FROM consent_records r WHERE r.subject_id = subjects.id
              AND (r.ip_truncated IS NOT NULL OR r.user_agent IS NOT NULL));
ALTER TABLE consent_records DROP COLUMN ip_truncated;
ALTER TABLE consent_records DROP COLUMN user_agent;
