-- The truncated address and user agent a consent was given from are the participant's personal
-- data: the subject digest covers them, and they are anonymised with the contact data. They
-- move from the record into `subjects`, where the rest of it lives, so that anonymising a
-- participant rewrites one row, not two (benches/NOTES.md, session 19). Each record has a
-- subject of its own, so each value has one place to go.
ALTER TABLE subjects ADD COLUMN ip_truncated TEXT, ADD COLUMN user_agent TEXT;
UPDATE subjects s SET ip_truncated = r.ip_truncated, user_agent = r.user_agent
FROM consent_records r
WHERE r.subject_id = s.id AND (r.ip_truncated IS NOT NULL OR r.user_agent IS NOT NULL);
ALTER TABLE consent_records DROP COLUMN ip_truncated, DROP COLUMN user_agent;
