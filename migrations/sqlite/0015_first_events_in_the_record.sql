-- A consent's first events (one decision per purpose, written with the record and covered by
-- its ledger entry) move into the record, as a JSON array in `first_events`; only events
-- written later (withdrawals, re-grants, erasures) stay rows, in `later_consent_events`.
-- Three event rows with four B-tree entries each were most of a consent batch's page writes
-- (benches/NOTES.md, session 15). `consent_events` stays, as a view of both, so that every
-- reader sees the events as before.
-- `first_events` holds [id, purpose_id, legal_basis, state, actor, occurred_at] per event;
-- occurred_at is null where it is the record's own time (every event written since).
ALTER TABLE consent_records ADD COLUMN first_events TEXT;
UPDATE consent_records SET first_events = (
    SELECT json_group_array(json_array(e.id, e.purpose_id, e.legal_basis, e.state, e.actor,
               CASE WHEN e.occurred_at = consent_records.recorded_at THEN NULL ELSE e.occurred_at END))
    FROM (SELECT * FROM consent_events e
          WHERE e.record_id = consent_records.id AND e.ledger_seq = consent_records.ledger_seq
          ORDER BY e.id) e)
WHERE EXISTS (SELECT 1 FROM consent_events e
              WHERE e.record_id = consent_records.id AND e.ledger_seq = consent_records.ledger_seq);

CREATE TABLE later_consent_events (
    id          TEXT PRIMARY KEY,
    record_id   TEXT NOT NULL REFERENCES consent_records (id),
    purpose_id  TEXT NOT NULL,
    legal_basis TEXT NOT NULL,
    state       TEXT NOT NULL,
    actor       TEXT NOT NULL,
    occurred_at TEXT NOT NULL,
    ledger_seq  INTEGER NOT NULL REFERENCES ledger (seq)
);
INSERT INTO later_consent_events (id, record_id, purpose_id, legal_basis, state, actor, occurred_at, ledger_seq)
    SELECT e.id, e.record_id, e.purpose_id, e.legal_basis, e.state, e.actor, e.occurred_at, e.ledger_seq
    FROM consent_events e
    WHERE NOT EXISTS (SELECT 1 FROM consent_records r WHERE r.id = e.record_id AND r.ledger_seq = e.ledger_seq)
    ORDER BY e.rowid;
DROP TABLE consent_events;
CREATE INDEX later_consent_events_by_record ON later_consent_events (record_id, ledger_seq);
CREATE INDEX later_consent_events_by_ledger ON later_consent_events (ledger_seq);
CREATE INDEX later_consent_events_withdrawn ON later_consent_events (ledger_seq) WHERE state = 'withdrawn';

CREATE VIEW first_consent_events (id, record_id, purpose_id, legal_basis, state, actor, occurred_at, ledger_seq) AS
    SELECT e.value ->> 0, r.id, e.value ->> 1, e.value ->> 2, e.value ->> 3, e.value ->> 4,
           coalesce(e.value ->> 5, r.recorded_at), r.ledger_seq
    FROM consent_records r, json_each(r.first_events) e;
CREATE VIEW consent_events (id, record_id, purpose_id, legal_basis, state, actor, occurred_at, ledger_seq) AS
    SELECT id, record_id, purpose_id, legal_basis, state, actor, occurred_at, ledger_seq FROM first_consent_events
    UNION ALL
    SELECT id, record_id, purpose_id, legal_basis, state, actor, occurred_at, ledger_seq FROM later_consent_events;
