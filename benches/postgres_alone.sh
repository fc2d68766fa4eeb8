#!/usr/bin/env bash
# PostgreSQL alone: the rows one consent writes, with nothing of consentd around them.
#
# For each batch size B: a fresh database with consentd's PostgreSQL schema (all of
# migrations/postgres), then pgbench with ONE client (as consentd has one consent writer)
# running transactions that lock the ledger head, insert B consents (per consent one ledger
# entry, subject, record and three events, generated inside the server with random addresses
# and hashes), move the head and commit, with the server's settings (synchronous_commit on).
# No HTTP, no client-side building or hashing, one round trip per statement.
#
# Beside it, one read-only statement making the same values without inserting them: what the
# server spends on making the rows (and one round trip), which a real writer does not ask of
# it; "without it" subtracts that.
#
#   benches/postgres_alone.sh [SECONDS] [BATCH ...]      # defaults 8, 20 64 256
#
# Needs PostgreSQL on CONSENTD_TEST_POSTGRES (default postgres://postgres@127.0.0.1:5432) and
# pgbench. See benches/NOTES.md (session 10).
set -euo pipefail
cd "$(dirname "$0")/.."
server="${CONSENTD_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432}"
seconds=${1:-8}
[ $# -gt 0 ] && shift
batches=("$@")
[ ${#batches[@]} -eq 0 ] && batches=(20 64 256)
command -v pgbench >/dev/null || { echo "pgbench is needed (it comes with the PostgreSQL server package)" >&2; exit 1; }
database=consentd_postgres_alone
export PGOPTIONS="-c client_min_messages=warning"
work=$(mktemp -d)
trap 'rm -rf "$work"; psql -q "$server/postgres" -c "DROP DATABASE IF EXISTS $database" 2>/dev/null || true' EXIT

cat > "$work/consents.sql" <<'SQL'
BEGIN;
SELECT seq FROM ledger_head WHERE id = 1 FOR UPDATE;
WITH n AS (SELECT nextval('alone_seq') AS seq FROM generate_series(1, :batch)),
s AS (SELECT seq, lpad(seq::text, 14, '0') AS k FROM n),
ledger_rows AS (
    INSERT INTO ledger (seq, recorded_at, kind, ref_id, payload_sha256, prev_sha256, entry_sha256)
    SELECT seq, now(), 'consent.recorded', 'r' || k,
           md5(random()::text) || md5(random()::text), md5(random()::text) || md5(random()::text),
           md5(random()::text) || md5(random()::text)
    FROM s RETURNING seq),
subject_rows AS (
    INSERT INTO subjects (id, name, email, organisation, salt, digest, ip_truncated, user_agent, created_at)
    SELECT 's' || k, 'Erika Beispiel', left(md5(random()::text), 12) || '@example.org',
           'Beispiel GmbH', md5(random()::text), md5(random()::text) || md5(random()::text), '127.0.0.0',
           NULL, now()
    FROM s RETURNING id),
record_rows AS (
    INSERT INTO consent_records (id, receipt_id, subject_id, workshop_id, controller_id, notice_id,
           notice_version, notice_language, notice_sha256, notice_content_sha256, collection_method,
           collector, token_sha256, renews_record_id, recorded_at, ledger_seq, first_events)
    SELECT 'r' || k, 'x' || k, 's' || k,
           'w', 'c', 'notice', 1, 'de', 'n', md5(random()::text) || md5(random()::text), 'api', NULL,
           md5(random()::text) || md5(random()::text), NULL, now(), seq,
           '[["e' || k || 'd","durchfuehrung","art6-1-a","given","subject",null],'
           || '["e' || k || 'f","fotos","art6-1-a","given","subject",null],'
           || '["e' || k || 'n","newsletter","art6-1-a","given","subject",null]]'
    FROM s RETURNING id)
SELECT (SELECT count(*) FROM ledger_rows), (SELECT count(*) FROM subject_rows),
       (SELECT count(*) FROM record_rows);
UPDATE ledger_head SET seq = currval('alone_seq'), entry_sha256 = md5(random()::text) WHERE id = 1;
COMMIT;
SQL

# The same values made and counted in one read-only statement: nothing inserted or committed.
cat > "$work/generate.sql" <<'SQL'
SELECT count(*) FROM (
    SELECT nextval('alone_seq') AS seq, 'r' || lpad(g::text, 14, '0') AS id,
           md5(random()::text) || md5(random()::text) AS a, md5(random()::text) || md5(random()::text) AS b,
           md5(random()::text) || md5(random()::text) AS c, left(md5(random()::text), 12) || '@example.org' AS d,
           md5(random()::text) AS e, md5(random()::text) || md5(random()::text) AS f,
           md5(random()::text) || md5(random()::text) AS h, md5(random()::text) || md5(random()::text) AS i
    FROM generate_series(1, :batch) AS g) AS rows;
SQL

fresh_database() {
    psql -q "$server/postgres" -c "DROP DATABASE IF EXISTS $database" -c "CREATE DATABASE $database"
    for migration in migrations/postgres/*.sql; do
        psql -q -v ON_ERROR_STOP=1 "$server/$database" -f "$migration" >/dev/null
    done
    psql -q -v ON_ERROR_STOP=1 "$server/$database" <<'SQL'
INSERT INTO notice_texts VALUES ('n', 'notice', 1, 'de', 't', 'm', '{}', '2026-01-01', now());
INSERT INTO workshops (id, slug, title, kind, starts_on, ends_on, notice_id, controller_id, created_at)
VALUES ('w', 'w', 'W', 'workshop', '2026-12-01', '2026-12-02', 'notice', 'c', now());
CREATE SEQUENCE alone_seq;
SQL
}

# Transactions per second of one pgbench client running FILE with BATCH.
tps() {
    pgbench -n -c 1 -T "$seconds" -D "batch=$2" -f "$1" "$server/$database" 2>/dev/null |
        sed -n 's/^tps = \([0-9.]*\) .*/\1/p'
}

for batch in "${batches[@]}"; do
    fresh_database
    stored=$(tps "$work/consents.sql" "$batch")
    generated=$(tps "$work/generate.sql" "$batch")
    [ -n "$stored" ] && [ -n "$generated" ] || { echo "pgbench failed at batch $batch" >&2; exit 1; }
    awk -v b="$batch" -v s="$stored" -v g="$generated" 'BEGIN {
        with = s * b; per = 1e6 / with; gen = 1e6 / (g * b);
        printf "batch %4d: %8.0f consents/s in PostgreSQL (%.0f µs each, of which making the rows %.0f µs; without it %.0f/s)\n",
            b, with, per, gen, 1e6 / (per - gen)
    }'
done
