-- Staff accounts, sessions, API tokens, login throttling and the audit trail.

CREATE TABLE staff_users (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    role          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    disabled_at   TEXT,
    last_login_at TEXT
);

-- Server-side sessions, shared by all instances; the cookie holds a secret whose hash is the key.
CREATE TABLE staff_sessions (
    id_sha256    TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES staff_users (id),
    csrf_token   TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    last_seen_at TEXT NOT NULL
);
CREATE INDEX staff_sessions_by_user ON staff_sessions (user_id);

CREATE TABLE api_tokens (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL UNIQUE,
    role         TEXT NOT NULL,
    token_sha256 TEXT NOT NULL UNIQUE,
    created_at   TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    expires_at   TEXT,
    revoked_at   TEXT,
    last_used_at TEXT
);

-- Keyed by a hash of the address typed, existing account or not, so a lock does not reveal
-- which accounts exist.
CREATE TABLE login_failures (
    id           TEXT PRIMARY KEY,
    at           TEXT NOT NULL,
    account_key  TEXT,
    ip_truncated TEXT
);
CREATE INDEX login_failures_by_account ON login_failures (account_key, at);
CREATE INDEX login_failures_by_ip ON login_failures (ip_truncated, at);

-- Staff actions, append-only; each row is committed with a ledger entry that hashes it.
CREATE TABLE audit_events (
    id           TEXT PRIMARY KEY,
    at           TEXT NOT NULL,
    actor        TEXT NOT NULL,
    action       TEXT NOT NULL,
    target       TEXT,
    ip_truncated TEXT,
    ledger_seq   INTEGER NOT NULL REFERENCES ledger (seq)
);
CREATE INDEX audit_events_by_time ON audit_events (at);
