-- The consent spine: notice texts as shown, workshops, subjects, consent records, their
-- events, and the hash-chained ledger. Timestamps are UTC (TIMESTAMPTZ).

CREATE TABLE notice_texts (
    sha256          TEXT PRIMARY KEY,
    notice_id       TEXT NOT NULL,
    version         BIGINT NOT NULL,
    language        TEXT NOT NULL,
    title           TEXT NOT NULL,
    markdown        TEXT NOT NULL,
    metadata_json   TEXT NOT NULL,
    effective_on    DATE NOT NULL,
    first_loaded_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX notice_texts_by_version ON notice_texts (notice_id, version, language);

CREATE TABLE workshops (
    id            TEXT PRIMARY KEY,
    slug          TEXT NOT NULL UNIQUE,
    title         TEXT NOT NULL,
    kind          TEXT NOT NULL,
    location      TEXT,
    starts_on     DATE NOT NULL,
    ends_on       DATE NOT NULL,
    notice_id     TEXT NOT NULL,
    controller_id TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    archived_at   TIMESTAMPTZ
);

-- Personal data lives here and only here; erasure nulls it and keeps the digest.
CREATE TABLE subjects (
    id           TEXT PRIMARY KEY,
    name         TEXT,
    email        TEXT,
    organisation TEXT,
    salt         TEXT,
    digest       TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    erased_at    TIMESTAMPTZ
);

CREATE TABLE ledger (
    seq            BIGINT PRIMARY KEY,
    recorded_at    TIMESTAMPTZ NOT NULL,
    kind           TEXT NOT NULL,
    ref_id         TEXT NOT NULL, -- the consent record or audit event the entry is about
    payload_sha256 TEXT NOT NULL,
    prev_sha256    TEXT NOT NULL,
    entry_sha256   TEXT NOT NULL UNIQUE
);
CREATE INDEX ledger_by_ref ON ledger (ref_id);

-- One row: the newest entry. Appending locks it first, which serialises writers across
-- connections and processes into one linear chain.
CREATE TABLE ledger_head (
    id           BIGINT PRIMARY KEY CHECK (id = 1),
    seq          BIGINT NOT NULL,
    entry_sha256 TEXT NOT NULL
);
INSERT INTO ledger_head (id, seq, entry_sha256)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE TABLE consent_records (
    id                TEXT PRIMARY KEY,
    receipt_id        TEXT NOT NULL UNIQUE,
    subject_id        TEXT NOT NULL REFERENCES subjects (id),
    workshop_id       TEXT NOT NULL REFERENCES workshops (id),
    controller_id     TEXT NOT NULL,
    notice_id         TEXT NOT NULL,
    notice_version    BIGINT NOT NULL,
    notice_language   TEXT NOT NULL,
    notice_sha256     TEXT NOT NULL REFERENCES notice_texts (sha256),
    notice_content_sha256 TEXT NOT NULL, -- text and metadata (purposes, storage periods) shown
    collection_method TEXT NOT NULL,
    collector         TEXT,              -- the API token that submitted it, if any
    ip_truncated      TEXT,              -- personal: covered by the subject digest, erased with it
    user_agent        TEXT,
    token_sha256      TEXT NOT NULL UNIQUE,
    renews_record_id  TEXT,              -- re-consent: the earlier record this one renews
    recorded_at       TIMESTAMPTZ NOT NULL,
    ledger_seq        BIGINT NOT NULL REFERENCES ledger (seq)
);
CREATE INDEX consent_records_by_workshop ON consent_records (workshop_id, recorded_at);

-- Every change of state is a new row; rows are never updated.
CREATE TABLE consent_events (
    id          TEXT PRIMARY KEY,
    record_id   TEXT NOT NULL REFERENCES consent_records (id),
    purpose_id  TEXT NOT NULL,
    legal_basis TEXT NOT NULL,
    state       TEXT NOT NULL,
    actor       TEXT NOT NULL,
    occurred_at TIMESTAMPTZ NOT NULL,
    ledger_seq  BIGINT NOT NULL REFERENCES ledger (seq)
);
CREATE INDEX consent_events_by_record ON consent_events (record_id, occurred_at);
CREATE INDEX consent_events_by_ledger ON consent_events (ledger_seq);
