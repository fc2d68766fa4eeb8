-- Public halves of the receipt signing keys, so every instance publishes every key that ever
-- signed a receipt (the private keys stay in each instance's key file).
CREATE TABLE signing_keys (
    key_id     TEXT PRIMARY KEY,  -- RFC 7638 thumbprint
    public_key TEXT NOT NULL,     -- base64url, the JWK `x`
    created_at TIMESTAMPTZ NOT NULL,
    retired_at TIMESTAMPTZ
);

-- Set at erasure: a keyed HMAC of the e-mail address, so a kept proof can be re-linked only
-- when the person presents the address again (Art. 17(3)(e) disputes).
ALTER TABLE subjects ADD COLUMN email_pseudonym TEXT;
CREATE INDEX subjects_by_email_pseudonym ON subjects (email_pseudonym);
CREATE INDEX subjects_by_email ON subjects (lower(email));

-- Art. 16 rectifications: which fields changed and the digests before and after, never the
-- values. The digest kept in `subjects.digest` stays the one the consent was recorded with.
ALTER TABLE subjects ADD COLUMN current_digest TEXT;
CREATE TABLE subject_rectifications (
    id              TEXT PRIMARY KEY,
    subject_id      TEXT NOT NULL REFERENCES subjects (id),
    fields          TEXT NOT NULL,    -- comma-separated field names
    previous_digest TEXT NOT NULL,
    digest          TEXT NOT NULL,
    rectified_at    TIMESTAMPTZ NOT NULL,
    ledger_seq      BIGINT NOT NULL REFERENCES ledger (seq)
);
CREATE INDEX subject_rectifications_by_subject ON subject_rectifications (subject_id, ledger_seq);

-- Bulk exports page through a workshop's records in ledger order.
CREATE INDEX consent_records_by_workshop_seq ON consent_records (workshop_id, ledger_seq);

-- A receipt shows whether the record was renewed: looked up on every receipt and export.
CREATE INDEX consent_records_by_renewal ON consent_records (renews_record_id) WHERE renews_record_id IS NOT NULL;

-- The language reminder letters are written in (NULL: German).
ALTER TABLE consultants ADD COLUMN language TEXT;
