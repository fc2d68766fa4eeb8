#!/usr/bin/env python3
"""SQLite alone: the rows one consent writes, with nothing of consentd around them.

A fresh database with consentd's SQLite schema (migrations/sqlite applied in order), WAL,
synchronous=FULL and foreign keys on (as `consentd serve` opens it). One thread stores
consents in batches of B: per consent one ledger entry, one subject and one record holding its
three first events (migration 0015), with time-ordered ids and random addresses and token hashes as the service writes
them, then moves the ledger head and commits. No HTTP, no validation, no hashing of our own:
the ceiling of any writer on this schema, on this machine.

    python3 benches/sqlite_alone.py [CONSENTS] [BATCH ...]      # defaults 30000, 20 64 256

Beside it, in the same run, the floor of any schema: each consent as ONE row (subject fields
and purpose decisions inline) plus its ledger entry, keeping only what no design can drop:
the ledger, a unique token hash for receipts, the address index for Art. 15 look-ups and a
workshop index for exports: roughly the most any schema keeping those look-ups could give here.

Python builds the rows outside the timed statements; its own time per consent is printed
apart and not counted. See benches/NOTES.md (sessions 9 and 10).
"""
import glob
import itertools
import json
import os
import sqlite3
import sys
import tempfile
import time
import uuid

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
NOW = "2026-11-28T07:00:00.000000+00:00"
PURPOSES = ("durchfuehrung", "fotos", "newsletter")


def random_hex():
    return os.urandom(32).hex()


def time_ordered_ids():
    counter = itertools.count(10**12)
    return lambda: "%013d-%s" % (next(counter), uuid.uuid4().hex[:20])


def consentd_schema(db):
    for migration in sorted(glob.glob(os.path.join(ROOT, "migrations/sqlite/*.sql"))):
        db.executescript(open(migration, encoding="utf-8").read())
    db.execute(
        "INSERT INTO notice_texts VALUES ('n' , 'notice', 1, 'de', 't', 'm', '{}', '2026-01-01', ?)",
        (NOW,),
    )
    db.execute(
        "INSERT INTO workshops (id, slug, title, kind, starts_on, ends_on, notice_id, controller_id, created_at) "
        "VALUES ('w', 'w', 'W', 'workshop', '2026-12-01', '2026-12-02', 'notice', 'c', ?)",
        (NOW,),
    )


CONSENTD_INSERTS = (
    "INSERT INTO ledger (seq, recorded_at, kind, ref_id, payload_sha256, prev_sha256, entry_sha256) "
    "VALUES (?,?,?,?,?,?,?)",
    "INSERT INTO subjects (id, name, email, organisation, salt, digest, ip_truncated, user_agent, created_at) "
    "VALUES (?,?,?,?,?,?,?,?,?)",
    "INSERT INTO consent_records (id, receipt_id, subject_id, workshop_id, controller_id, notice_id, "
    "notice_version, notice_language, notice_sha256, notice_content_sha256, collection_method, collector, "
    "token_sha256, renews_record_id, recorded_at, ledger_seq, first_events) "
    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
)


def consentd_rows(new_id):
    """Rows for each of CONSENTD_INSERTS, for the consents with these ledger sequence numbers."""
    def rows(seqs):
        ledger, subjects, records = [], [], []
        for seq in seqs:
            subject, record = new_id(), new_id()
            ledger.append((seq, NOW, "consent.recorded", record, random_hex(), random_hex(), random_hex()))
            subjects.append((subject, "Erika Beispiel", random_hex()[:12] + "@example.org", "Beispiel GmbH",
                             random_hex()[:32], random_hex(), "127.0.0.0", None, NOW))
            # The first events inside the record (migration 0015), as the service writes them.
            first_events = json.dumps([[new_id(), purpose, "art6-1-a", "given", "subject", None]
                                       for purpose in PURPOSES], separators=(",", ":"))
            records.append((record, new_id(), subject, "w", "c", "notice", 1, "de", "n", random_hex(),
                            "api", None, random_hex(), None, NOW, seq, first_events))
        return ledger, subjects, records
    return rows


FLOOR_SCHEMA = """
CREATE TABLE ledger (seq INTEGER PRIMARY KEY, recorded_at TEXT NOT NULL, kind TEXT NOT NULL,
    ref_id TEXT NOT NULL, payload_sha256 TEXT NOT NULL, prev_sha256 TEXT NOT NULL, entry_sha256 TEXT NOT NULL);
CREATE TABLE ledger_head (id INTEGER PRIMARY KEY, seq INTEGER NOT NULL, entry_sha256 TEXT NOT NULL);
INSERT INTO ledger_head VALUES (1, 0, '');
CREATE TABLE consents (id TEXT PRIMARY KEY, receipt_id TEXT NOT NULL UNIQUE, workshop_id TEXT NOT NULL,
    name TEXT, email TEXT, organisation TEXT, salt TEXT, digest TEXT NOT NULL, notice_sha256 TEXT NOT NULL,
    notice_content_sha256 TEXT NOT NULL, collection_method TEXT NOT NULL, ip_truncated TEXT,
    token_sha256 TEXT NOT NULL UNIQUE, purposes TEXT NOT NULL, recorded_at TEXT NOT NULL,
    ledger_seq INTEGER NOT NULL REFERENCES ledger (seq));
CREATE INDEX consents_by_email ON consents (lower(email));
CREATE INDEX consents_by_workshop ON consents (workshop_id, ledger_seq);
"""

FLOOR_INSERTS = (
    "INSERT INTO ledger VALUES (?,?,?,?,?,?,?)",
    "INSERT INTO consents VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
)


def floor_rows(new_id):
    """Rows for each of FLOOR_INSERTS, for the consents with these ledger sequence numbers."""
    purposes = json.dumps([[p, "art6-1-a", "given"] for p in PURPOSES])
    def rows(seqs):
        ledger, consents = [], []
        for seq in seqs:
            record = new_id()
            ledger.append((seq, NOW, "consent.recorded", record, random_hex(), random_hex(), random_hex()))
            consents.append((record, new_id(), "w", "Erika Beispiel", random_hex()[:12] + "@example.org",
                             "Beispiel GmbH", random_hex()[:32], random_hex(), "n", random_hex(), "api",
                             "127.0.0.0", random_hex(), purposes, NOW, seq))
        return ledger, consents
    return rows


def run(layout, create, inserts, rows_of, consents, batch):
    """Stores CONSENTS in batches of BATCH into a fresh database and prints the rate."""
    db = sqlite3.connect(os.path.join(tempfile.mkdtemp(prefix="sqlite_alone"), "alone.db"),
                         isolation_level=None)
    create(db)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = FULL")
    db.execute("PRAGMA foreign_keys = ON")
    rows = rows_of(time_ordered_ids())
    seq, building, storing = 0, 0.0, 0.0
    for _ in range(consents // batch):
        started = time.perf_counter()
        tables = rows(range(seq + 1, seq + batch + 1))
        seq += batch
        head = random_hex()
        building += time.perf_counter() - started
        started = time.perf_counter()
        db.execute("BEGIN IMMEDIATE")
        for sql, table in zip(inserts, tables):
            db.executemany(sql, table)
        db.execute("UPDATE ledger_head SET seq = ?, entry_sha256 = ? WHERE id = 1", (seq, head))
        db.execute("COMMIT")
        storing += time.perf_counter() - started
    db.close()
    stored = seq
    print(f"{layout:<28} batch {batch:>4}: {stored / storing:8.0f} consents/s in SQLite "
          f"({storing / stored * 1e6:.0f} µs each; Python's row building {building / stored * 1e6:.0f} µs, not counted)")


if __name__ == "__main__":
    consents = int(sys.argv[1]) if len(sys.argv) > 1 else 30000
    for batch in [int(b) for b in sys.argv[2:]] or [20, 64, 256]:
        run("consentd's schema", consentd_schema, CONSENTD_INSERTS, consentd_rows, consents, batch)
        run("one row per consent (floor)", lambda db: db.executescript(FLOOR_SCHEMA), FLOOR_INSERTS,
            floor_rows, consents, batch)
