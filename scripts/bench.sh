#!/usr/bin/env bash
# Runs every benchmark and rewrites BENCHMARKS.md with the machine, the versions, the commands
# and the figures of this run. The analysis of earlier runs lives in benches/NOTES.md.
#
#   scripts/bench.sh            # full sizes (about 30 minutes on 2 cores)
#   scripts/bench.sh --quick    # smaller sizes (a few minutes), same tables
#
# Needs PostgreSQL on CONSENTD_TEST_POSTGRES (default postgres://postgres@127.0.0.1:5432)
# and Python's reportlab for the PDF baseline (installed here if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
export CONSENTD_TEST_POSTGRES="${CONSENTD_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432}"

quick=false
[ "${1:-}" = "--quick" ] && quick=true
if $quick; then
    sweep_n=100000; export_n=1000; verify_n=100000; load_s=5; pdf_runs=300
else
    sweep_n=1000000; export_n=10000; verify_n=1000000; load_s=10; pdf_runs=1000
fi

python3 -c "import reportlab" 2>/dev/null || python3 -m pip install -q --root-user-action=ignore reportlab
pg_isready -q -h 127.0.0.1 -p 5432 || { echo "PostgreSQL is not reachable" >&2; exit 1; }

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

echo "== building (release)" >&2
cargo bench --no-run --bench consent_load --bench ledger_verify --bench consent_pdf --bench records_export --bench core >&2
cargo bench --no-run --features simulated-clock --bench retention_sweep >&2

# Runs one bench command, keeping its stdout (the tables) and showing its progress.
run() {
    local name=$1; shift
    echo "== $name: $*" >&2
    "$@" > "$out/$name.md"
    cat "$out/$name.md" >&2
}

run load cargo bench --bench consent_load -- "$load_s" 64 both
run sqlite_alone python3 benches/sqlite_alone.py 30000 20 64 256
run postgres_alone benches/postgres_alone.sh 8 20 64 256
run verify_sqlite cargo bench --bench ledger_verify -- "$verify_n"
run verify_pg cargo bench --bench ledger_verify -- "$verify_n" postgres
run sweep_sqlite cargo bench --features simulated-clock --bench retention_sweep -- "$sweep_n"
run sweep_pg cargo bench --features simulated-clock --bench retention_sweep -- "$sweep_n" postgres
run export_sqlite cargo bench --bench records_export -- "$export_n"
run export_pg cargo bench --bench records_export -- "$export_n" postgres
run pdf cargo bench --bench consent_pdf -- "$pdf_runs"
# Criterion's own summary lines: name, time, throughput.
echo "== core (criterion)" >&2
cargo bench --bench core -- --noplot 2>/dev/null \
    | awk '/^(ledger|retention|consent-record)/ || /time:|thrpt:/' \
    > "$out/core.md"
cat "$out/core.md" >&2

# A bench's own text output, verbatim.
fenced() { printf '```text\n%s\n```\n' "$(cat "$out/$1.md")"; }

bundled_sqlite=$(grep -A1 '^name = "libsqlite3-sys"$' Cargo.lock | sed -n 's/version = "\(.*\)"/libsqlite3-sys \1 (bundled SQLite)/p')
pg_version=$(psql "$CONSENTD_TEST_POSTGRES/postgres" -Atc 'SHOW server_version' 2>/dev/null || echo "?")

{
cat <<HEAD
# Benchmarks

Written by \`scripts/bench.sh$($quick && echo " --quick")\` on $(date -u +%Y-%m-%d) at commit \`$(git rev-parse --short HEAD)\`$(git diff --quiet HEAD -- . ':!BENCHMARKS.md' || echo " (with uncommitted changes)"). Re-run that script to
refresh every figure; each section gives the command for running one benchmark alone.
Analysis, history and profiles of earlier runs: [benches/NOTES.md](benches/NOTES.md).

## Machine

- CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores; memory $(free -g | awk '/Mem:/ {print $2}') GB
- OS: $(. /etc/os-release && echo "$PRETTY_NAME"), kernel $(uname -r)
- $(rustc --version); release profile
- SQLite: $bundled_sqlite, WAL, \`synchronous=FULL\`; PostgreSQL $pg_version on the same machine
- Load generator: this repository's \`benches/consent_load.rs\` (hyper client, one keep-alive
  connection per client), on the same machine as the server

## Consents over HTTP under load (\`benches/consent_load.rs\`)

\`POST /api/v1/consents\` from 64 concurrent clients, each consent with its own address, for
$load_s s after 1 s of warm-up, against a release \`consentd serve\` (demo policies, rate limit
off). **Baseline** in the same run: a plain axum server that parses the same JSON into the
same \`ConsentInput\` and answers 201 without a database. RSS idle is read just before the load,
RSS peak after it (\`/proc/PID/status\`). Issue 7's goals: ≥ 20,000/s on SQLite, ≥ 10,000/s on
PostgreSQL, p99 ≤ 20 ms, ratio to baseline ≥ 0.2; idle RSS ≤ 15 MB.

**The writer alone**, second table: after each load, on the database it filled, the bench
calls the group-commit writer's \`store::consents::record_batch\` itself, batch after batch,
without HTTP, validation or queue: at the load's mean batch size (consents per commit) and at
64 (every client in one batch, the most 64 clients can give). It is the ceiling of the
consent path with requests for free: the load cannot go faster than the writer alone does at
the batch sizes the load gives it.

\`\`\`sh
cargo bench --bench consent_load -- $load_s 64 both     # SECONDS CLIENTS sqlite|postgres|both
\`\`\`

$(cat "$out/load.md")

**SQLite alone**, below the writer: the rows of each consent (one ledger entry, subject, record
and three events) written from Python straight into a fresh database with consentd's schema
(all of \`migrations/sqlite\`), WAL, \`synchronous=FULL\`, one thread, no HTTP, hashing or
validation. Beside it, **the floor of any schema**: each consent as one row plus its ledger
entry, with only the unique token hash, the address index and a workshop index: roughly the
most that any schema keeping those look-ups could give on this machine (Python's binding of the
values is inside the timed statements, so a writer in Rust might do somewhat better).

\`\`\`sh
python3 benches/sqlite_alone.py 30000 20 64 256     # CONSENTS BATCH...
\`\`\`

\`\`\`text
$(cat "$out/sqlite_alone.md")
\`\`\`

**PostgreSQL alone**, below its writer: the same rows per consent, generated inside the server
and inserted by one pgbench client (consentd has one consent writer, and the ledger head's lock
makes appends serial across instances too) into a fresh database with consentd's schema,
\`synchronous_commit\` on. "Without it" subtracts what making the values costs the server.

\`\`\`sh
benches/postgres_alone.sh 8 20 64 256     # SECONDS BATCH...
\`\`\`

\`\`\`text
$(cat "$out/postgres_alone.md")
\`\`\`

## Ledger verification (\`benches/ledger_verify.rs\`)

$verify_n consents recorded through the service, then the snapshot read and checked by
\`consentd::verify::check\` (chain, payload hashes, subject digests, events, head): what
\`consentd verify\` does. Then the chain alone: \`verify_chain\` on one thread over the snapshot's
entries; \`consentd verify --chain-only\` (\`verify::chain_only\`: on SQLite two readers hash
the entries as they step them, on PostgreSQL one stream; nothing kept); and the same from
loaded entries, its way when anchors are given or the walk finds a break
(\`store::ledger::chain\` reads them, \`verify::check_chain\` checks them on every core).
**Ceiling**: raw SHA-256 on one core over exactly the bytes the check hashes (entries, payload
JSON, subject digest inputs, notice texts), and over the chain's bytes alone for the
chain-only rows; median of three runs. Issue 7's goal, ≥ 1,000,000 entries/s on SQLite, is
read here against the \`verify --chain-only\` row: the full check also hashes
the payloads it recomputes from the tables, about 2 KB per entry, ten times the chain's
bytes, so its own ceiling on one core is below the goal (benches/NOTES.md).

\`\`\`sh
cargo bench --bench ledger_verify -- $verify_n            # add \`postgres\` for PostgreSQL
\`\`\`

$(cat "$out/verify_sqlite.md")
$(tail -n +3 "$out/verify_pg.md")

## Retention sweep (\`benches/retention_sweep.rs\`)

N participants of a workshop that ended in March 2020, all due for anonymisation. **Engine**:
\`consentd::retention::run\` (pages of 10,000: anonymise, deletion-log rows with HMAC
pseudonyms, ledger entries, journal, commit). **Baseline**: the same anonymisation in
consentd's schema as one bare \`UPDATE\` plus one \`INSERT … SELECT\` of N log rows. **Bare
DELETE**: issue 5's own reference ("a bare SQL DELETE of 1 M rows plus 1 M log rows"): the
subjects copied into a table without indexes, one \`DELETE\` of them all and one
\`INSERT … SELECT\` of N rows into a log table without indexes. Each in the same run, on an
identical database. Issue 5's goal: 1,000,000 in ≤ 5 s on SQLite, ≤ 10 s on PostgreSQL, peak
memory < 100 MB.

\`\`\`sh
cargo bench --features simulated-clock --bench retention_sweep -- $sweep_n   # add \`postgres\`
\`\`\`

$(fenced sweep_sqlite)

$(fenced sweep_pg)

## Bulk export of a workshop's records (\`benches/records_export.rs\`)

N consents, then the ZIP of their PDFs and signed receipts
(\`GET /api/v1/workshops/{slug}/records.zip\`) drained. **Baseline**: the same records loaded and
rendered one at a time, nothing zipped.

\`\`\`sh
cargo bench --bench records_export -- $export_n            # add \`postgres\`
\`\`\`

$(fenced export_sqlite)

$(fenced export_pg)

## Consent-record PDF (\`benches/consent_pdf.rs\`)

A typical two-page record rendered $pdf_runs times; **baseline**: Python's reportlab (platypus)
rendering the same content with the same fonts. Goal: median ≤ 1 ms, ≤ 40 KB, ≥ 5× reportlab.

\`\`\`sh
cargo bench --bench consent_pdf -- $pdf_runs
\`\`\`

$(fenced pdf)

## In-process work (\`benches/core.rs\`, Criterion)

Hashing and canonicalisation beside raw SHA-256 of the same bytes, chaining one ledger entry,
the PDF render, due dates of every retention rule beside plain date arithmetic.

\`\`\`sh
cargo bench --bench core
\`\`\`

$(fenced core)
HEAD
} > BENCHMARKS.md
echo "BENCHMARKS.md rewritten" >&2
