-- Lookups by subject (erasure, retention) must not scan every consent record.
CREATE INDEX consent_records_by_subject ON consent_records (subject_id);
CREATE INDEX consent_events_by_state ON consent_events (state);
