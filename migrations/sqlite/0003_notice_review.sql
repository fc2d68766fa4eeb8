-- Notice versions under legal review. policies/ files (and uploads) create drafts; the
-- state machine lives here, bound to the hash of text and metadata.

CREATE TABLE notice_versions (
    notice_id       TEXT NOT NULL,
    version         INTEGER NOT NULL,
    content_sha256  TEXT NOT NULL,
    metadata_json   TEXT NOT NULL,
    texts_json      TEXT NOT NULL,   -- {"de": sha256, "en": sha256} into notice_texts
    effective_on    TEXT NOT NULL,
    state           TEXT NOT NULL,
    source          TEXT NOT NULL,   -- file or upload
    created_at      TEXT NOT NULL,
    submitted_by    TEXT,
    submitted_at    TEXT,
    decided_by      TEXT,
    decided_at      TEXT,
    material        BOOLEAN,
    imported        BOOLEAN NOT NULL DEFAULT 0,
    withdrawn_reason TEXT,
    PRIMARY KEY (notice_id, version)
);

-- The review trail: submissions, comments, decisions, withdrawals. Each row is audited too.
CREATE TABLE notice_reviews (
    id         TEXT PRIMARY KEY,
    notice_id  TEXT NOT NULL,
    version    INTEGER NOT NULL,
    at         TEXT NOT NULL,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,   -- submitted, comment, approved, changes_requested, withdrawn, imported
    comment    TEXT,
    content_sha256 TEXT NOT NULL
);
CREATE INDEX notice_reviews_by_version ON notice_reviews (notice_id, version, at);

-- Bumped on every change above, so every instance knows when to reload its catalogue.
CREATE TABLE notice_catalog_generation (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    generation INTEGER NOT NULL
);
INSERT INTO notice_catalog_generation (id, generation) VALUES (1, 0);

-- Which version came into force when (for re-consent): one row per notice and version.
CREATE TABLE notice_in_force (
    notice_id TEXT NOT NULL,
    version   INTEGER NOT NULL,
    since     TEXT NOT NULL,
    PRIMARY KEY (notice_id, version)
);
