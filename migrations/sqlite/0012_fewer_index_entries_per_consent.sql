-- Fewer index entries per recorded consent: each is a B-tree insert in the commit of every
-- consent batch (benches/NOTES.md, session 10: 5–10 % of SQLite's own time per consent).
--
-- The e-mail pseudonym is set only at erasure; live subjects (NULL) no longer get an entry.
-- `email_pseudonym = $1` implies NOT NULL, so look-ups still use the index.
DROP INDEX subjects_by_email_pseudonym;
CREATE INDEX subjects_by_email_pseudonym ON subjects (email_pseudonym) WHERE email_pseudonym IS NOT NULL;

-- Three entries per consent for a column of three values, used only to find withdrawals
-- (the dashboard's list and count): an index of the withdrawals alone, in ledger order.
-- The newest given consents are found backwards along `consent_events_by_ledger`.
DROP INDEX consent_events_by_state;
CREATE INDEX consent_events_withdrawn ON consent_events (ledger_seq) WHERE state = 'withdrawn';

-- Superseded by `consent_records_by_workshop_seq` (workshop, ledger order), which every
-- per-workshop query uses; the staff list's optional filters cannot use either.
DROP INDEX consent_records_by_workshop;
