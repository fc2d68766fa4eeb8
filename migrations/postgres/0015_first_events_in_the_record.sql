-- A consent's first events (one decision per purpose, written with the record and covered by
-- its ledger entry) move into the record, as a JSON array in `first_events`; only events
-- written later (withdrawals, re-grants, erasures) stay rows, in `later_consent_events`.
-- Three event rows with their index entries were most of a consent batch's writes
-- (benches/NOTES.md, session 15). `consent_events` stays, as a view of both, so that every
-- reader sees the events as before.
-- `first_events` holds [id, purpose_id, legal_basis, state, actor, occurred_at] per event;
-- occurred_at is null where it is the record's own time (every event written since).
ALTER TABLE consent_records ADD COLUMN first_events TEXT;
UPDATE consent_records r SET first_events = f.events
FROM (SELECT e.record_id,
             json_agg(json_build_array(e.id, e.purpose_id, e.legal_basis, e.state, e.actor,
                      CASE WHEN e.occurred_at = r2.recorded_at THEN NULL ELSE e.occurred_at END)
                      ORDER BY e.id)::text AS events
      FROM consent_events e JOIN consent_records r2 ON r2.id = e.record_id AND r2.ledger_seq = e.ledger_seq
      GROUP BY e.record_id) f
WHERE f.record_id = r.id;

DELETE FROM consent_events e USING consent_records r
WHERE r.id = e.record_id AND r.ledger_seq = e.ledger_seq;
ALTER TABLE consent_events RENAME TO later_consent_events;
ALTER INDEX consent_events_pkey RENAME TO later_consent_events_pkey;
DROP INDEX consent_events_by_record;
DROP INDEX consent_events_by_ledger;
DROP INDEX consent_events_withdrawn;
CREATE INDEX later_consent_events_by_record ON later_consent_events (record_id, ledger_seq);
CREATE INDEX later_consent_events_by_ledger ON later_consent_events (ledger_seq);
CREATE INDEX later_consent_events_withdrawn ON later_consent_events (ledger_seq) WHERE state = 'withdrawn';

CREATE VIEW first_consent_events (id, record_id, purpose_id, legal_basis, state, actor, occurred_at, ledger_seq) AS
    SELECT e.value ->> 0, r.id, e.value ->> 1, e.value ->> 2, e.value ->> 3, e.value ->> 4,
           coalesce((e.value ->> 5)::timestamptz, r.recorded_at), r.ledger_seq
    FROM consent_records r, json_array_elements(r.first_events::json) e;
CREATE VIEW consent_events (id, record_id, purpose_id, legal_basis, state, actor, occurred_at, ledger_seq) AS
    SELECT id, record_id, purpose_id, legal_basis, state, actor, occurred_at, ledger_seq FROM first_consent_events
    UNION ALL
    SELECT id, record_id, purpose_id, legal_basis, state, actor, occurred_at, ledger_seq FROM later_consent_events;
