//! Where personal data lives: every column of every table, classified. A column holding
//! personal data names the data category whose deletion rule governs it. `consentd retention
//! coverage` compares this list with the live schema and with `retention.toml`, so a new
//! column without a rule fails the tests (and CI).

use super::{Db, with_db};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Holds {
    /// Personal data of this category (DIN 66398 Datenart).
    Personal(&'static str),
    /// Not personal data, and why.
    NotPersonal(&'static str),
}

use Holds::{NotPersonal as No, Personal as P};

const ID: Holds = No("a random identifier");
const TECH: Holds = No("technical bookkeeping");
const HASH: Holds = No("a hash that identifies nobody without the data (kept for proofs)");
const TEXT: Holds = No("notice or workshop content written by the organisers");

pub const COLUMNS: &[(&str, &[(&str, Holds)])] = &[
    (
        "_sqlx_migrations",
        &[
            ("version", TECH),
            ("description", TECH),
            ("installed_on", TECH),
            ("success", TECH),
            ("checksum", TECH),
            ("execution_time", TECH),
        ],
    ),
    (
        "api_tokens",
        &[
            ("id", ID),
            ("name", P("api-tokens")),
            ("role", P("api-tokens")),
            ("token_sha256", P("api-tokens")),
            ("created_at", P("api-tokens")),
            ("created_by", P("api-tokens")),
            ("expires_at", P("api-tokens")),
            ("revoked_at", P("api-tokens")),
            ("last_used_at", P("api-tokens")),
        ],
    ),
    (
        "audit_events",
        &[
            ("id", ID),
            ("at", P("pruefprotokoll")),
            ("actor", P("pruefprotokoll")),
            ("action", P("pruefprotokoll")),
            ("target", P("pruefprotokoll")),
            ("ip_truncated", P("pruefprotokoll")),
            ("ledger_seq", TECH),
        ],
    ),
    (
        "later_consent_events",
        // Each decision and withdrawal is the proof itself (Art. 7(1)); the data processed
        // under an optional consent (photos, newsletter lists) lives in other systems.
        &[
            ("id", ID),
            ("record_id", ID),
            ("purpose_id", P("einwilligungsnachweise")),
            ("legal_basis", P("einwilligungsnachweise")),
            ("state", P("einwilligungsnachweise")),
            ("actor", P("einwilligungsnachweise")),
            ("occurred_at", P("einwilligungsnachweise")),
            ("ledger_seq", TECH),
        ],
    ),
    (
        "consent_records",
        &[
            ("id", ID),
            ("receipt_id", P("einwilligungsnachweise")),
            ("subject_id", P("einwilligungsnachweise")),
            ("workshop_id", P("einwilligungsnachweise")),
            ("controller_id", TEXT),
            ("notice_id", TEXT),
            ("notice_version", TEXT),
            ("notice_language", P("einwilligungsnachweise")),
            ("notice_sha256", HASH),
            ("notice_content_sha256", HASH),
            ("collection_method", P("einwilligungsnachweise")),
            ("collector", P("einwilligungsnachweise")),
            ("token_sha256", P("einwilligungsnachweise")),
            ("renews_record_id", ID),
            ("legacy_token", TECH),
            ("recorded_at", P("einwilligungsnachweise")),
            ("ledger_seq", TECH),
            // The first decisions, one per purpose (migration 0015).
            ("first_events", P("einwilligungsnachweise")),
        ],
    ),
    (
        "consultants",
        &[
            ("id", ID),
            ("name", P("berater-listung")),
            ("email", P("berater-listung")),
            ("language", P("berater-listung")),
            ("created_at", P("berater-listung")),
        ],
    ),
    (
        "consultant_authorisations",
        &[
            ("id", ID),
            ("consultant_id", ID),
            ("on_date", P("berater-listung")),
            ("source", P("berater-listung")),
            ("workshop_id", P("berater-listung")),
            ("created_at", TECH),
        ],
    ),
    (
        "deletion_log",
        &[
            ("id", ID),
            ("executed_at", TECH),
            ("category", TECH),
            ("rule_version", TECH),
            ("start_on", TECH),
            ("due_on", TECH),
            ("subject_pseudonym", P("loeschprotokoll")),
            ("target", TECH),
            ("rows_affected", TECH),
            ("ledger_seq", TECH),
            // The random id of the row the entry deleted or anonymised: that row is gone or
            // pseudonymous itself (and goes with the consent proof), so the key names nobody.
            ("row_key", ID),
            ("replay_of", ID),
            ("sealed", No("ledger sequence numbers and hashes")),
        ],
    ),
    (
        "outbox",
        &[
            ("id", ID),
            ("dedupe_key", P("erinnerungen-outbox")),
            ("consultant_id", P("erinnerungen-outbox")),
            ("to_email", P("erinnerungen-outbox")),
            ("subject", P("erinnerungen-outbox")),
            ("body", P("erinnerungen-outbox")),
            ("state", TECH),
            ("attempts", TECH),
            ("next_attempt_at", TECH),
            // A server's answer may quote the address, though delivery takes it out.
            ("last_error", P("erinnerungen-outbox")),
            ("created_at", TECH),
            ("finished_at", TECH),
        ],
    ),
    (
        "ledger",
        &[
            ("seq", TECH),
            ("recorded_at", TECH),
            ("kind", TECH),
            ("ref_id", ID),
            ("payload_sha256", HASH),
            ("prev_sha256", HASH),
            ("entry_sha256", HASH),
        ],
    ),
    (
        "ledger_head",
        &[("id", TECH), ("seq", TECH), ("entry_sha256", HASH)],
    ),
    (
        "login_failures",
        &[
            ("id", ID),
            ("at", P("anmelde-fehlversuche")),
            ("account_key", P("anmelde-fehlversuche")),
            ("ip_truncated", P("anmelde-fehlversuche")),
        ],
    ),
    (
        "notice_catalog_generation",
        &[("id", TECH), ("generation", TECH)],
    ),
    (
        "notice_in_force",
        &[("notice_id", TEXT), ("version", TEXT), ("since", TECH)],
    ),
    (
        "notice_reviews",
        &[
            ("id", ID),
            ("notice_id", TEXT),
            ("version", TEXT),
            ("at", P("pruefprotokoll")),
            ("actor", P("pruefprotokoll")),
            ("action", P("pruefprotokoll")),
            ("comment", P("pruefprotokoll")),
            ("content_sha256", HASH),
        ],
    ),
    (
        "notice_texts",
        &[
            ("sha256", HASH),
            ("notice_id", TEXT),
            ("version", TEXT),
            ("language", TEXT),
            ("title", TEXT),
            ("markdown", TEXT),
            ("metadata_json", TEXT),
            ("effective_on", TEXT),
            ("first_loaded_at", TECH),
        ],
    ),
    (
        "notice_versions",
        &[
            ("notice_id", TEXT),
            ("version", TEXT),
            ("content_sha256", HASH),
            ("metadata_json", TEXT),
            ("texts_json", TEXT),
            ("effective_on", TEXT),
            ("state", TEXT),
            ("source", TEXT),
            ("created_at", TECH),
            ("uploaded_by", P("pruefprotokoll")),
            ("submitted_by", P("pruefprotokoll")),
            ("submitted_at", P("pruefprotokoll")),
            ("decided_by", P("pruefprotokoll")),
            ("decided_at", P("pruefprotokoll")),
            ("material", TEXT),
            ("imported", TEXT),
            ("withdrawn_reason", P("pruefprotokoll")),
        ],
    ),
    (
        "retention_holds",
        &[
            ("id", ID),
            ("scope", TECH),
            ("target", P("pruefprotokoll")),
            ("reason", P("pruefprotokoll")),
            ("created_by", P("pruefprotokoll")),
            ("created_at", TECH),
            ("ends_on", TECH),
            ("released_at", TECH),
            ("released_by", P("pruefprotokoll")),
        ],
    ),
    (
        "retention_pauses",
        &[
            ("id", ID),
            ("reason", P("pruefprotokoll")),
            ("paused_by", P("pruefprotokoll")),
            ("paused_at", TECH),
            ("resumed_at", TECH),
            ("resumed_by", P("pruefprotokoll")),
        ],
    ),
    (
        "service_keys",
        &[
            ("name", TECH),
            ("key_hex", No("a secret of the service, about nobody")),
            ("created_at", TECH),
        ],
    ),
    (
        "staff_sessions",
        &[
            ("id_sha256", P("sitzungen")),
            ("user_id", P("sitzungen")),
            ("csrf_token", P("sitzungen")),
            ("created_at", P("sitzungen")),
            ("last_seen_at", P("sitzungen")),
        ],
    ),
    (
        "staff_users",
        &[
            ("id", ID),
            ("email", P("mitarbeitende-konten")),
            ("role", P("mitarbeitende-konten")),
            ("password_hash", P("mitarbeitende-konten")),
            ("created_at", P("mitarbeitende-konten")),
            ("disabled_at", P("mitarbeitende-konten")),
            ("last_login_at", P("mitarbeitende-konten")),
        ],
    ),
    (
        "signing_keys",
        &[
            ("key_id", TECH),
            (
                "public_key",
                No("the public half of the service's own signing key"),
            ),
            ("created_at", TECH),
            ("retired_at", TECH),
        ],
    ),
    (
        "subject_rectifications",
        // Which fields changed and the digests, never the values: part of the proof history.
        &[
            ("id", ID),
            ("subject_id", ID),
            ("fields", P("einwilligungsnachweise")),
            ("previous_digest", HASH),
            ("digest", HASH),
            ("rectified_at", P("einwilligungsnachweise")),
            ("ledger_seq", TECH),
        ],
    ),
    (
        "subjects",
        &[
            ("id", ID),
            ("name", P("teilnehmende-kontaktdaten")),
            ("email", P("teilnehmende-kontaktdaten")),
            ("organisation", P("teilnehmende-kontaktdaten")),
            ("salt", P("teilnehmende-kontaktdaten")),
            // Where the consent was given from (migration 0016 moved them from the record).
            ("ip_truncated", P("teilnehmende-kontaktdaten")),
            ("user_agent", P("teilnehmende-kontaktdaten")),
            ("digest", HASH),
            ("current_digest", HASH),
            // Kept with the proof after erasure (keyed HMAC of the address, Art. 17(3)(e)).
            ("email_pseudonym", P("einwilligungsnachweise")),
            ("created_at", P("teilnehmende-kontaktdaten")),
            ("erased_at", TECH),
        ],
    ),
    (
        "workshop_attendance",
        &[
            ("id", ID),
            ("workshop_id", P("workshop-teilnahme")),
            ("email", P("workshop-teilnahme")),
            ("recorded_at", P("workshop-teilnahme")),
        ],
    ),
    (
        "workshops",
        &[
            ("id", ID),
            ("slug", TEXT),
            ("title", TEXT),
            ("kind", TEXT),
            ("location", TEXT),
            ("starts_on", TEXT),
            ("ends_on", TEXT),
            ("notice_id", TEXT),
            ("controller_id", TEXT),
            ("created_at", TECH),
            ("archived_at", TECH),
        ],
    ),
];

/// Every (table, column) of the live schema's tables (views such as `consent_events` hold
/// nothing of their own).
pub async fn schema_columns(db: &Db) -> sqlx::Result<Vec<(String, String)>> {
    match db {
        Db::Sqlite(_) => with_db!(db, pool => {
            sqlx::query_as(
                "SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p
                 WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' ORDER BY m.name, p.cid",
            )
            .fetch_all(pool)
            .await
        }),
        Db::Postgres(_) => with_db!(db, pool => {
            sqlx::query_as(
                "SELECT c.table_name::text, c.column_name::text FROM information_schema.columns c
                 JOIN information_schema.tables t
                   ON t.table_schema = c.table_schema AND t.table_name = c.table_name
                 WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'
                 ORDER BY c.table_name, c.ordinal_position",
            )
            .fetch_all(pool)
            .await
        }),
    }
}

/// What is wrong: columns the list does not classify, listed columns that do not exist, and
/// personal categories without a rule.
pub fn coverage_problems(
    schema: &[(String, String)],
    categories_with_rules: &[&str],
) -> Vec<String> {
    let mut problems = Vec::new();
    let listed = |t: &str, c: &str| {
        COLUMNS
            .iter()
            .find(|(table, _)| *table == t)
            .and_then(|(_, cols)| cols.iter().find(|(col, _)| *col == c))
    };
    for (table, column) in schema {
        match listed(table, column) {
            None => problems.push(format!(
                "{table}.{column} is not classified in src/store/personal_data.rs"
            )),
            Some((_, Holds::Personal(category))) if !categories_with_rules.contains(category) => {
                problems.push(format!(
                    "{table}.{column} holds `{category}`, which has no rule in retention.toml"
                ))
            }
            Some(_) => {}
        }
    }
    for (table, cols) in COLUMNS {
        for (column, _) in *cols {
            if !schema.iter().any(|(t, c)| t == table && c == column) {
                problems.push(format!("{table}.{column} is classified but does not exist"));
            }
        }
    }
    problems
}
