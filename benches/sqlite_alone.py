#!/usr/bin/env python3
"""SQLite alone: the rows one consent writes, with nothing of consentd around them.

A fresh database with consentd's SQLite schema (migrations/sqlite applied in order), WAL,
synchronous=FULL and foreign keys on (as `consentd serve` opens it). One thread stores
consents in batches of B: per consent one ledger entry, one subject, one record and three
events, with time-ordered ids and random addresses and token hashes as the service writes
them, then moves the ledger head and commits. No HTTP, no validation, no hashing of our own:
the ceiling of any writer on this schema, on this machine.

    python3 benches/sqlite_alone.py [CONSENTS] [BATCH ...]      # defaults 30000, 20 64 256

Beside it, in the same run, the floor of any schema: each consent as ONE row (subject fields
and purpose decisions inline) plus its ledger entry, keeping only what no design can drop:
the ledger, a unique token hash for receipts, the address index for Art. 15 look-ups and a
workshop index for exports. What that floor cannot reach, no schema of consentd's can.

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


def fresh_database(path):
    db = sqlite3.connect(path, isolation_level=None)
    for migration in sorted(glob.glob(os.path.join(ROOT, "migrations/sqlite/*.sql"))):
        db.executescript(open(migration, encoding="utf-8").read())
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = FULL")
    db.execute("PRAGMA foreign_keys = ON")
    db.execute(
        "INSERT INTO notice_texts VALUES ('n' , 'notice', 1, 'de', 't', 'm', '{}', '2026-01-01', ?)",
        (NOW,),
    )
    db.execute(
        "INSERT INTO workshops (id, slug, title, kind, starts_on, ends_on, notice_id, controller_id, created_at) "
        "VALUES ('w', 'w', 'W', 'workshop', '2026-12-01', '2026-12-02', 'notice', 'c', ?)",
        (NOW,),
    )
    return db


def run(consents, batch):
    directory = tempfile.mkdtemp(prefix="sqlite_alone")
    db = fresh_database(os.path.join(directory, "alone.db"))
    counter = itertools.count(10**12)
    time_ordered = lambda: "%013d-%s" % (next(counter), uuid.uuid4().hex[:20])
    random_hex = lambda: os.urandom(32).hex()
    seq, building, storing = 0, 0.0, 0.0
    for _ in range(consents // batch):
        started = time.perf_counter()
        ledger, subjects, records, events = [], [], [], []
        for _ in range(batch):
            seq += 1
            subject, record = time_ordered(), time_ordered()
            ledger.append((seq, NOW, "consent.recorded", record, random_hex(), random_hex(), random_hex()))
            subjects.append((subject, "Erika Beispiel", random_hex()[:12] + "@example.org", "Beispiel GmbH",
                             random_hex()[:32], random_hex(), NOW))
            records.append((record, time_ordered(), subject, "w", "c", "notice", 1, "de", "n", random_hex(),
                            "api", None, "127.0.0.0", None, random_hex(), None, NOW, seq))
            for purpose in PURPOSES:
                events.append((time_ordered(), record, purpose, "art6-1-a", "given", "participant", NOW, seq))
        head = random_hex()
        building += time.perf_counter() - started
        started = time.perf_counter()
        db.execute("BEGIN IMMEDIATE")
        db.executemany("INSERT INTO ledger (seq, recorded_at, kind, ref_id, payload_sha256, prev_sha256, "
                       "entry_sha256) VALUES (?,?,?,?,?,?,?)", ledger)
        db.executemany("INSERT INTO subjects (id, name, email, organisation, salt, digest, created_at) "
                       "VALUES (?,?,?,?,?,?,?)", subjects)
        db.executemany("INSERT INTO consent_records (id, receipt_id, subject_id, workshop_id, controller_id, "
                       "notice_id, notice_version, notice_language, notice_sha256, notice_content_sha256, "
                       "collection_method, collector, ip_truncated, user_agent, token_sha256, "
                       "renews_record_id, recorded_at, ledger_seq) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                       records)
        db.executemany("INSERT INTO consent_events (id, record_id, purpose_id, legal_basis, state, actor, "
                       "occurred_at, ledger_seq) VALUES (?,?,?,?,?,?,?,?)", events)
        db.execute("UPDATE ledger_head SET seq = ?, entry_sha256 = ? WHERE id = 1", (seq, head))
        db.execute("COMMIT")
        storing += time.perf_counter() - started
    db.close()
    report("consentd's schema", consents // batch * batch, batch, storing, building)


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


def run_floor(consents, batch):
    directory = tempfile.mkdtemp(prefix="sqlite_floor")
    db = sqlite3.connect(os.path.join(directory, "floor.db"), isolation_level=None)
    db.executescript(FLOOR_SCHEMA)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = FULL")
    db.execute("PRAGMA foreign_keys = ON")
    counter = itertools.count(10**12)
    time_ordered = lambda: "%013d-%s" % (next(counter), uuid.uuid4().hex[:20])
    random_hex = lambda: os.urandom(32).hex()
    purposes = json.dumps([[p, "art6-1-a", "given"] for p in PURPOSES])
    seq, building, storing = 0, 0.0, 0.0
    for _ in range(consents // batch):
        started = time.perf_counter()
        ledger, rows = [], []
        for _ in range(batch):
            seq += 1
            record = time_ordered()
            ledger.append((seq, NOW, "consent.recorded", record, random_hex(), random_hex(), random_hex()))
            rows.append((record, time_ordered(), "w", "Erika Beispiel", random_hex()[:12] + "@example.org",
                         "Beispiel GmbH", random_hex()[:32], random_hex(), "n", random_hex(), "api",
                         "127.0.0.0", random_hex(), purposes, NOW, seq))
        head = random_hex()
        building += time.perf_counter() - started
        started = time.perf_counter()
        db.execute("BEGIN IMMEDIATE")
        db.executemany("INSERT INTO ledger VALUES (?,?,?,?,?,?,?)", ledger)
        db.executemany("INSERT INTO consents VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", rows)
        db.execute("UPDATE ledger_head SET seq = ?, entry_sha256 = ? WHERE id = 1", (seq, head))
        db.execute("COMMIT")
        storing += time.perf_counter() - started
    db.close()
    report("one row per consent (floor)", consents // batch * batch, batch, storing, building)


def report(layout, stored, batch, storing, building):
    print(f"{layout:<28} batch {batch:>4}: {stored / storing:8.0f} consents/s in SQLite "
          f"({storing / stored * 1e6:.0f} µs each; Python's row building {building / stored * 1e6:.0f} µs, not counted)")


if __name__ == "__main__":
    consents = int(sys.argv[1]) if len(sys.argv) > 1 else 30000
    for batch in [int(b) for b in sys.argv[2:]] or [20, 64, 256]:
        run(consents, batch)
        run_floor(consents, batch)
