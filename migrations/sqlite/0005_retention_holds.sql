-- Legal holds (Art. 18 restriction, disputes) and pauses of automated deletion.
CREATE TABLE retention_holds (
    id          TEXT PRIMARY KEY,
    scope       TEXT NOT NULL,      -- subject, workshop or category
    target      TEXT NOT NULL,      -- subject id, workshop slug or category id
    reason      TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    ends_on     TEXT,               -- optional end date (Europe/Berlin)
    released_at TEXT,
    released_by TEXT
);

CREATE TABLE retention_pauses (
    id         TEXT PRIMARY KEY,
    reason     TEXT NOT NULL,
    paused_by  TEXT NOT NULL,
    paused_at  TEXT NOT NULL,
    resumed_at TEXT,
    resumed_by TEXT
);
