-- Authorised consultants, their (re-)authorisations, workshop attendance, and the outbox of
-- reminder letters.
CREATE TABLE consultants (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    email      TEXT NOT NULL UNIQUE,
    created_at TIMESTAMPTZ NOT NULL
);

-- The clock of a listing runs from the newest row here.
CREATE TABLE consultant_authorisations (
    id            TEXT PRIMARY KEY,
    consultant_id TEXT NOT NULL REFERENCES consultants (id) ON DELETE CASCADE,
    on_date       DATE NOT NULL,
    source        TEXT NOT NULL,    -- initial, attendance, import
    workshop_id   TEXT,
    created_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX consultant_authorisations_by_consultant ON consultant_authorisations (consultant_id, on_date);

CREATE TABLE workshop_attendance (
    id          TEXT PRIMARY KEY,
    workshop_id TEXT NOT NULL REFERENCES workshops (id),
    email       TEXT NOT NULL,
    recorded_at TIMESTAMPTZ NOT NULL,
    UNIQUE (workshop_id, email)
);

-- Each message exists once (dedupe_key), whatever the number of instances or runs.
CREATE TABLE outbox (
    id              TEXT PRIMARY KEY,
    dedupe_key      TEXT NOT NULL UNIQUE,
    consultant_id   TEXT,
    to_email        TEXT,
    subject         TEXT NOT NULL,
    body            TEXT,
    state           TEXT NOT NULL,  -- queued, sending, sent, failed, cancelled
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    last_error      TEXT,
    created_at      TIMESTAMPTZ NOT NULL,
    finished_at     TIMESTAMPTZ
);
CREATE INDEX outbox_by_state ON outbox (state, next_attempt_at);
