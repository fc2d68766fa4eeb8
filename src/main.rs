//! The `consentd` command line: the service and the admin commands beside it.

use std::net::SocketAddr;
use std::process::ExitCode;

use anyhow::Context;
use chrono::NaiveDate;
use clap::{Parser, Subcommand};

use consentd::app::App;
use consentd::config::{RateLimit, ServeSettings, Settings};
use consentd::domain::consent::FieldError;
use consentd::domain::staff::Role;
use consentd::domain::workshop::{NewWorkshop, Slug, WorkshopKind};
use consentd::http::rate_limit::RateLimits;
use consentd::http::{self, HttpConfig};
use consentd::store::{self, Db, redact_url};

#[derive(Parser)]
#[command(
    name = "consentd",
    version,
    about = "Provable consent to workshop privacy notices"
)]
struct Cli {
    #[command(flatten)]
    settings: Settings,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the service (participant pages and JSON API).
    Serve(ServeSettings),
    /// Apply database migrations and exit.
    Migrate,
    /// Recompute the ledger and check the tables against it (with --chain-only, the ledger
    /// alone). Exit 0 if intact, 1 if not.
    Verify {
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        /// SEQ:SHA256 of an entry written down earlier (repeatable): catches a rewrite of the
        /// whole chain that is consistent in itself.
        #[arg(long = "expect")]
        anchors: Vec<consentd::verify::Anchor>,
        /// Check the chain alone (every entry's hash, its link, the head and anchors), not
        /// the tables against it: a fraction of the time, for frequent checks.
        #[arg(long)]
        chain_only: bool,
    },
    /// Check a signed consent receipt offline. Exit 0 if the signature is valid, 1 if not.
    VerifyReceipt {
        /// The receipt: a compact JWS, or the JSON of `GET /api/v1/receipts/{token}`.
        file: std::path::PathBuf,
        /// Public key(s): the JWK set of `/api/v1/keys`, one JWK, or a PEM public key.
        /// Without it, the keys this installation published are used.
        #[arg(long)]
        key: Option<std::path::PathBuf>,
        /// Print the verified claims as JSON.
        #[arg(long)]
        json: bool,
    },
    /// The receipt signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Online backup while the service runs: SQLite with `VACUUM INTO` (a consistent,
    /// compacted copy), PostgreSQL with `pg_dump --format=custom` (needs pg_dump on PATH).
    /// After restoring one, run `consentd retention replay` before starting the service.
    Backup {
        /// The new file (refused if it exists).
        file: std::path::PathBuf,
    },
    /// Manage workshops.
    #[command(subcommand)]
    Workshop(WorkshopCommand),
    /// Check the policy files.
    #[command(subcommand)]
    Policies(PoliciesCommand),
    /// Notice versions and their legal review.
    #[command(subcommand)]
    Notices(NoticesCommand),
    /// The retention engine (deletion concept, runs, coverage).
    #[command(subcommand)]
    Retention(RetentionCommand),
    /// Authorised consultants and their listing.
    #[command(subcommand)]
    Consultant(ConsultantCommand),
    /// Reminder letters waiting, sent or failed.
    #[command(subcommand)]
    Outbox(OutboxCommand),
    /// Data subjects (participants).
    #[command(subcommand)]
    Subject(SubjectCommand),
    /// Staff accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// API tokens for automation.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Print the route table: every route with the audience that may use it.
    Routes {
        /// As JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// List the published signing keys (retired ones stay for old receipts).
    List {
        #[arg(long, value_parser = ["text", "json"], default_value = "text")]
        format: String,
    },
    /// Replace the signing key with a new one; the old key id is retired, its public key
    /// stays published. Restart running instances to sign with the new key.
    Rotate,
}

#[derive(Subcommand)]
enum UserCommand {
    /// Add a staff user. Prompts for the password, or reads one line from stdin when it is not a terminal.
    Add {
        email: String,
        #[arg(long, value_enum)]
        role: Role,
    },
    /// List staff users.
    List,
    /// Disable a user; their sessions end at once.
    Disable { email: String },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create a token; prints only the token on stdout (it is shown once and stored hashed).
    Create {
        #[arg(long, value_enum)]
        role: Role,
        #[arg(long)]
        name: String,
        /// Last day of validity, YYYY-MM-DD.
        #[arg(long)]
        expires: Option<NaiveDate>,
    },
    /// Revoke a token by name; it stops working at once.
    Revoke { name: String },
    /// List tokens (never their secrets).
    List,
}

#[derive(Subcommand)]
enum SubjectCommand {
    /// Erase a participant's personal data (Art. 17 GDPR). The consent record, its events and
    /// the ledger stay, so the proof of what was agreed survives without the person.
    Erase {
        /// The receipt id printed on the participant's receipt.
        #[arg(long)]
        receipt: String,
    },
}

#[derive(Subcommand)]
enum WorkshopCommand {
    /// Add a workshop; its notice determines the controller.
    Add {
        #[arg(long)]
        slug: String,
        #[arg(long)]
        title: String,
        /// First day, YYYY-MM-DD.
        #[arg(long)]
        starts: NaiveDate,
        /// Last day, YYYY-MM-DD.
        #[arg(long)]
        ends: NaiveDate,
        /// Notice id from policies/notices/.
        #[arg(long)]
        notice: String,
        #[arg(long)]
        location: Option<String>,
        #[arg(long, value_enum, default_value = "seminar")]
        kind: WorkshopKind,
    },
    /// List workshops with their participant pages.
    List,
    /// Record that someone attended (an Erfahrungsaustausch or re-authorisation workshop
    /// re-authorises a consultant with this e-mail on its last day).
    Attend {
        slug: String,
        #[arg(long)]
        email: String,
    },
}

#[derive(Subcommand)]
enum ConsultantCommand {
    /// Add an authorised consultant.
    Add {
        #[arg(long)]
        name: String,
        #[arg(long)]
        email: String,
        /// Day of the (last) authorisation, YYYY-MM-DD.
        #[arg(long)]
        authorised_on: NaiveDate,
        /// Language of the reminder letters: de (default) or en.
        #[arg(long)]
        language: Option<String>,
    },
    /// Import `name;email;authorised_on[;language]` lines (CSV, header optional); all or nothing.
    Import { file: std::path::PathBuf },
    /// List consultants with their last authorisation and the listing's deadline.
    List {
        /// text (default) or json
        #[arg(long, default_value = "text")]
        format: String,
    },
}

#[derive(Subcommand)]
enum OutboxCommand {
    /// List messages with their state.
    List {
        /// text (default) or json
        #[arg(long, default_value = "text")]
        format: String,
    },
    /// Send what is due now (serve does this every few seconds when SMTP is configured).
    Deliver,
}

#[derive(Subcommand)]
enum PoliciesCommand {
    /// Load and check policies/ (no database needed); list every version with its hashes.
    Check,
}

#[derive(Subcommand)]
enum RetentionCommand {
    /// Delete or anonymise what is due (for cron; `serve` also runs it on a schedule).
    Run {
        /// List what is due without changing anything.
        #[arg(long)]
        dry_run: bool,
        /// Preview another day (only with --dry-run: a real run never deletes early).
        #[arg(long)]
        as_of: Option<NaiveDate>,
        #[arg(long)]
        json: bool,
    },
    /// Check that every database column holding personal data has a rule. Exit 1 if not.
    Coverage {
        /// As JSON: problems, and the tables holding personal data.
        #[arg(long)]
        json: bool,
    },
    /// The rules as the deletion concept for the data-protection officer (md or pdf).
    Concept {
        #[arg(long, default_value = "md")]
        format: String,
        /// Write here instead of stdout.
        #[arg(long)]
        output: Option<std::path::PathBuf>,
    },
    /// Put data on legal hold (Art. 18 restriction, disputes): not deleted, not processed.
    Hold {
        #[arg(long, group = "scope")]
        subject: Option<String>,
        #[arg(long, group = "scope")]
        workshop: Option<String>,
        #[arg(long, group = "scope")]
        category: Option<String>,
        #[arg(long)]
        reason: String,
        /// Last day of the hold (optional).
        #[arg(long)]
        until: Option<NaiveDate>,
    },
    /// List holds.
    Holds,
    /// Release a hold by id.
    Release { id: String },
    /// Pause automated deletion (scheduled and manual runs delete nothing until resumed).
    Pause {
        #[arg(long)]
        reason: String,
    },
    /// Resume automated deletion.
    Resume,
    /// What will be deleted when over the next twelve months.
    Forecast {
        #[arg(long)]
        json: bool,
    },
    /// After restoring a database backup: delete again what the deletion journal says was
    /// deleted after the backup was taken (idempotent; run it before starting the service).
    Replay {
        /// Journal files (default: the configured deletion journal). Give every instance's
        /// journal when several instances share one PostgreSQL.
        #[arg(long = "journal")]
        journals: Vec<std::path::PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Deletion report for a date range (from the deletion log; never the deleted content).
    Report {
        #[arg(long)]
        from: NaiveDate,
        #[arg(long)]
        to: NaiveDate,
        /// csv, json or pdf.
        #[arg(long, default_value = "csv")]
        format: String,
        /// Write here instead of stdout.
        #[arg(long)]
        output: Option<std::path::PathBuf>,
    },
}

#[derive(Subcommand)]
enum NoticesCommand {
    /// Take policies/ into the database: new versions become drafts, approval records are
    /// imported (also done by `serve` at start).
    Sync,
    /// List notice versions with their review states.
    List,
    /// Print the approval record of an approved version, for policies/ of another
    /// installation (or write it beside the version with --write).
    ApprovalRecord {
        #[arg(long)]
        notice: String,
        #[arg(long)]
        version: u32,
        /// Write policies/notices/NOTICE/vN.approval.toml instead of printing.
        #[arg(long)]
        write: bool,
    },
}

fn main() -> ExitCode {
    consentd::jobs::runtime()
        .expect("the tokio runtime starts")
        .block_on(main_with_runtime())
}

async fn main_with_runtime() -> ExitCode {
    let cli = Cli::parse();
    let default_level = if matches!(cli.command, Command::Serve(_)) {
        "info"
    } else {
        "warn"
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level)),
        )
        .init();
    match run(cli).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let settings = cli.settings;
    match cli.command {
        Command::Serve(serve_settings) => serve(&settings, &serve_settings).await,
        Command::Migrate => {
            let db = Db::connect(&settings.database_url).await?;
            let applied = db.migrate().await?;
            println!(
                "{} database {}: {applied} migration(s) applied",
                db.backend_name(),
                redact_url(&settings.database_url)
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Verify {
            json,
            anchors,
            chain_only,
        } => verify(&settings, json, &anchors, chain_only).await,
        Command::Workshop(command) => workshop(&settings, command).await,
        Command::Subject(SubjectCommand::Erase { receipt }) => {
            let app = App::open(&settings).await?;
            let Some(record) = store::consents::by_receipt_id(&app.db, receipt.trim()).await?
            else {
                anyhow::bail!("--receipt: no consent record with this receipt id");
            };
            let by = consentd::subject_rights::Requester {
                actor: "cli".to_owned(),
                ip_truncated: None,
            };
            match consentd::subject_rights::erase(&app, &record.subject_id, &by).await {
                Ok(report) => {
                    println!("{}", serde_json::to_string_pretty(&report)?);
                }
                Err(consentd::subject_rights::RightsError::Erased) => {
                    println!(
                        "consent record {}: personal data was erased already",
                        record.id
                    );
                }
                Err(e) => anyhow::bail!("{e}"),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::User(command) => user(&settings, command).await,
        Command::Notices(command) => notices(&settings, command).await,
        Command::Retention(command) => retention(&settings, command).await,
        Command::Consultant(command) => consultant(&settings, command).await,
        Command::Outbox(command) => outbox(&settings, command).await,
        Command::Token(command) => token(&settings, command).await,
        Command::VerifyReceipt { file, key, json } => {
            verify_receipt(&settings, &file, key.as_deref(), json).await
        }
        Command::Keys(command) => keys(&settings, command).await,
        Command::Backup { file } => backup(&settings, &file).await,
        Command::Routes { json } => {
            let routes = http::routes::describe();
            if json {
                println!("{}", serde_json::to_string_pretty(&routes)?);
            } else {
                for r in routes {
                    println!("{:<6} {:<40} {}", r.method, r.path, r.audience);
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Policies(PoliciesCommand::Check) => {
            let policies = consentd::policies::load(&settings.policies)
                .map_err(|e| anyhow::anyhow!("invalid policy: {e}"))?;
            // What startup would refuse besides: an approval record for other content.
            consentd::catalog::check_approvals(&policies)
                .map_err(|e| anyhow::anyhow!("invalid policy: {e}"))?;
            println!(
                "{}: {} controller(s), {} notice(s)",
                settings.policies.display(),
                policies.controllers.len(),
                policies.notices.len()
            );
            for notice in policies.notices.values() {
                for v in &notice.versions {
                    for text in v.texts.values() {
                        println!(
                            "  {} v{} {} effective {}  content {}  text sha256 {}",
                            notice.id,
                            v.version,
                            text.language.code(),
                            v.effective,
                            &v.content_sha256()[..12],
                            text.sha256
                        );
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn serve(settings: &Settings, serve_settings: &ServeSettings) -> anyhow::Result<ExitCode> {
    let app = App::open(settings).await?;
    let listener = tokio::net::TcpListener::bind(serve_settings.listen)
        .await
        .with_context(|| format!("cannot listen on {}", serve_settings.listen))?;
    let local = listener.local_addr()?;
    let base_url = settings.base_url(Some(local));
    print_banner(settings, &app, local, &base_url).await?;
    let rate_limits = match serve_settings.rate_limit {
        RateLimit::Off => None,
        RateLimit::PerMinute(n) => Some(RateLimits::new(n, serve_settings.rate_limit_collector)),
    };
    let config = HttpConfig {
        trusted_proxies: serve_settings.trusted_proxies.clone(),
        tls: base_url.starts_with("https://"),
    };
    let router = http::router(app.clone(), base_url, config, rate_limits);
    let (stop_jobs, stop) = consentd::jobs::Stop::new();
    let mut jobs = vec![consentd::jobs::housekeeping::spawn(
        app.clone(),
        stop.clone(),
    )];
    // The first pass runs before the first request is answered.
    consentd::jobs::reconsent::run_once(&app).await?;
    consentd::allocator::release_free_memory();
    jobs.push(consentd::jobs::reconsent::spawn(app.clone(), stop.clone()));
    jobs.extend(consentd::jobs::retention::spawn(
        app.clone(),
        serve_settings.retention_interval,
        stop.clone(),
    ));
    jobs.extend(consentd::jobs::outbox::spawn(
        app.clone(),
        consentd::mail::Mailer::from_settings(settings.smtp_url.as_deref(), &settings.mail_from)?,
        stop,
    ));

    // SIGTERM or Ctrl-C: stop accepting connections (the listener closes, new connections
    // are refused), let the requests in flight finish, let each job finish the pass it is
    // in, then close the database pool. Nothing is cut off unless it overruns the grace.
    let signalled = std::sync::Arc::new(tokio::sync::Notify::new());
    let server = axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown({
        let signalled = signalled.clone();
        async move {
            shutdown_signal().await;
            signalled.notify_one();
        }
    });
    let mut server = std::pin::pin!(std::future::IntoFuture::into_future(server));
    let grace_over = async {
        signalled.notified().await;
        tokio::time::sleep(SHUTDOWN_GRACE).await;
    };
    let mut clean = tokio::select! {
        served = &mut server => {
            served?;
            true
        }
        () = grace_over => {
            // Only a client that does not read its response gets here (requests themselves
            // time out after 30 s). Its connection is cut when the process ends.
            tracing::warn!(
                grace_s = SHUTDOWN_GRACE.as_secs(),
                "shutdown: connections still open after the grace period are cut"
            );
            false
        }
    };
    stop_jobs.stop();
    if tokio::time::timeout(SHUTDOWN_GRACE, futures::future::join_all(jobs))
        .await
        .is_err()
    {
        // Cut off when the runtime ends: its open transaction is rolled back.
        tracing::warn!(
            grace_s = SHUTDOWN_GRACE.as_secs(),
            "shutdown: a background job was still running after the grace period"
        );
        clean = false;
    }
    app.db.close().await;
    if clean {
        tracing::info!(
            "shut down: requests in flight answered, background jobs stopped, database closed"
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// How long shutdown waits for open connections, and then for background jobs.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(30);

async fn print_banner(
    settings: &Settings,
    app: &App,
    local: SocketAddr,
    base_url: &str,
) -> anyhow::Result<()> {
    println!(
        "consentd {} listening on http://{local}",
        env!("CARGO_PKG_VERSION")
    );
    println!(
        "  database: {} {}",
        app.db.backend_name(),
        redact_url(&settings.database_url)
    );
    println!(
        "  policies: {} ({} controller(s), {} notice(s))",
        settings.policies.display(),
        app.policies.controllers.len(),
        app.policies.notices.len()
    );
    if app.clock.is_simulated() {
        println!(
            "  clock:    simulated (CONSENTD_NOW), now {}",
            app.clock.now().to_rfc3339()
        );
    }
    if consentd::accounts::needs_first_admin(&app.db).await? {
        println!("No admin account yet. Create the first one (it asks for a password):");
        println!("  cargo run --release -- user add you@example.org --role admin");
        println!("  then sign in at {base_url}/staff/login");
    } else {
        println!("Staff area: {base_url}/staff");
    }
    let open = store::workshops::open_on(&app.db, app.clock.today_berlin()).await?;
    if open.is_empty() {
        let notice = app
            .policies
            .notices
            .keys()
            .next()
            .map(String::as_str)
            .unwrap_or("NOTICE-ID");
        let today = app.clock.today_berlin();
        println!("No open workshop yet. Add one (while this keeps running), then open its page:");
        println!(
            "  cargo run --release -- workshop add --slug demo-workshop --title \"Demo-Workshop\" \
             --starts {today} --ends {today} --notice {notice}"
        );
        println!("  {base_url}/w/demo-workshop");
    } else {
        println!("Participant pages of open workshops:");
        for w in open {
            println!("  {base_url}/w/{}  {} ({})", w.slug, w.title, w.starts_on);
        }
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! { _ = ctrl_c => {}, _ = terminate => {} }
}

async fn verify_receipt(
    settings: &Settings,
    file: &std::path::Path,
    key: Option<&std::path::Path>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    use consentd::domain::receipt;
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let Some(jws) = receipt::jws_in(&text) else {
        eprintln!(
            "{}: no receipt found (expected a compact JWS or JSON with a `jws` member)",
            file.display()
        );
        return Ok(ExitCode::FAILURE);
    };
    let keys = match key {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            receipt::parse_public_keys(&text)
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
        }
        None => {
            // Never create an empty database just to look for keys in it.
            let db = Db::connect_existing(&settings.database_url).await.context(
                "no --key given and the database is unreachable; pass the keys from /api/v1/keys with --key",
            )?;
            store::signing_keys::all(&db)
                .await
                .context("cannot read the published keys; pass them with --key")?
                .iter()
                .filter_map(|k| receipt::PublicKey::from_x(&k.public_key).ok())
                .collect()
        }
    };
    match receipt::verify(&jws, &keys) {
        Ok(verified) => {
            if json {
                println!("{}", serde_json::to_string_pretty(&verified.claims)?);
            } else {
                let c = &verified.claims;
                println!(
                    "receipt {} is valid: signed with key {} (EdDSA)",
                    c.consent_receipt_id, verified.key_id
                );
                println!(
                    "consent record {}, notice {} version {} ({}), sha256 {}",
                    c.consentd.record_id,
                    c.consentd.notice.id,
                    c.consentd.notice.version,
                    c.consentd.notice.language,
                    c.consentd.notice.sha256
                );
                for p in &c.consentd.purposes {
                    println!("  {}: {} since {}", p.id, p.state, p.since);
                }
                println!(
                    "ledger: recorded at seq {} ({}), latest seq {} ({})",
                    c.consentd.recorded_seq,
                    c.consentd.recorded_entry_sha256,
                    c.consentd.latest_seq,
                    c.consentd.latest_entry_sha256
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("receipt INVALID: {e}");
            Ok(ExitCode::FAILURE)
        }
    }
}

async fn backup(settings: &Settings, file: &std::path::Path) -> anyhow::Result<ExitCode> {
    if file.exists() {
        anyhow::bail!("{} exists already; choose a new file", file.display());
    }
    let db = Db::connect(&settings.database_url).await?;
    match &db {
        Db::Sqlite(_) => db.vacuum_into(file).await?,
        Db::Postgres(_) => {
            let out = std::process::Command::new("pg_dump")
                .args(["--format=custom", "--file"])
                .arg(file)
                .arg(&settings.database_url)
                .output()
                .context("cannot run pg_dump (Debian package postgresql-client)")?;
            if !out.status.success() {
                anyhow::bail!(
                    "pg_dump failed: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                );
            }
        }
    }
    println!(
        "{} backup written to {}; after restoring it, run `consentd retention replay` before starting the service",
        db.backend_name(),
        file.display()
    );
    Ok(ExitCode::SUCCESS)
}

async fn keys(settings: &Settings, command: KeysCommand) -> anyhow::Result<ExitCode> {
    let app = App::open(settings).await?;
    match command {
        KeysCommand::List { format } => {
            let keys = store::signing_keys::all(&app.db).await?;
            if format == "json" {
                let keys: Vec<_> = keys
                    .iter()
                    .map(|k| {
                        serde_json::json!({
                            "kid": k.key_id, "x": k.public_key,
                            "created_at": consentd::clock::canonical_time(k.created_at),
                            "retired_at": k.retired_at.map(consentd::clock::canonical_time),
                        })
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&keys)?);
            } else {
                for k in keys {
                    let state = match k.retired_at {
                        Some(at) => format!("retired {}", at.format("%Y-%m-%d")),
                        None if k.key_id == app.signer.key_id() => "signing".to_owned(),
                        None => "active elsewhere".to_owned(),
                    };
                    println!(
                        "{}  {}  created {}",
                        k.key_id,
                        state,
                        k.created_at.format("%Y-%m-%d")
                    );
                }
            }
        }
        KeysCommand::Rotate => {
            let (old, new) =
                consentd::signing::rotate(&settings.signing_key, &app.db, &app.clock).await?;
            store::audit::record(
                &app.db,
                &app.clock,
                "cli",
                "signing_key.rotated",
                Some(&format!("key:{new}")),
                None,
            )
            .await?;
            match old {
                Some(old) => println!("signing key {old} retired; new key {new}"),
                None => println!("new signing key {new}"),
            }
            println!("restart running instances so that they sign with the new key");
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn verify(
    settings: &Settings,
    json: bool,
    anchors: &[consentd::verify::Anchor],
    chain_only: bool,
) -> anyhow::Result<ExitCode> {
    let db = Db::connect(&settings.database_url).await?;
    let unreadable = "cannot read the ledger (is the database migrated? run `consentd migrate`)";
    let report = if chain_only {
        consentd::verify::chain_only(&db, anchors)
            .await
            .context(unreadable)?
    } else {
        let snapshot = store::ledger::snapshot(&db).await.context(unreadable)?;
        consentd::verify::check_with_anchors(&snapshot, anchors)
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else if let Some(first) = report.first_problem() {
        println!(
            "ledger BROKEN at seq {}: {} – {}",
            first.seq, first.kind, first.detail
        );
        for p in report.problems.iter().skip(1) {
            println!("  also seq {}: {} – {}", p.seq, p.kind, p.detail);
        }
    } else {
        println!(
            "ledger OK: {} entries, head {}",
            report.length, report.head_sha256
        );
        if report.scope == consentd::verify::Scope::Chain {
            println!("tables not compared (--chain-only); `consentd verify` compares them");
        } else {
            println!(
                "tables OK: {} consent record(s), {} event(s) match the ledger; {} subject(s) erased; \
             {} entries sealed by retention (rows gone or anonymised as their seals say)",
                report.records_checked,
                report.events_checked,
                report.subjects_erased,
                report.entries_sealed
            );
        }
    }
    Ok(if report.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

async fn workshop(settings: &Settings, command: WorkshopCommand) -> anyhow::Result<ExitCode> {
    let app = App::open(settings).await?;
    let base_url = settings.base_url(None);
    match command {
        WorkshopCommand::Add {
            slug,
            title,
            starts,
            ends,
            notice,
            location,
            kind,
        } => {
            let field = |e: FieldError| anyhow::anyhow!("--{}: {}", e.field, e.message);
            let slug = Slug::parse(&slug).map_err(field)?;
            let title = NewWorkshop::parse_title(&title).map_err(field)?;
            NewWorkshop::check_dates(starts, ends).map_err(field)?;
            let Some(found) = app.policies.notice(&notice) else {
                anyhow::bail!(
                    "--notice: unknown notice `{notice}`; policies/ has: {}",
                    app.policies
                        .notices
                        .keys()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            };
            let new = NewWorkshop {
                slug,
                title,
                kind,
                location: NewWorkshop::parse_location(location.as_deref()).map_err(field)?,
                starts_on: starts,
                ends_on: ends,
                notice_id: found.id.clone(),
                controller_id: found.controller.clone(),
            };
            match store::workshops::insert(&app.db, &new, app.clock.now()).await {
                Ok(w) => {
                    store::audit::record(
                        &app.db,
                        &app.clock,
                        "cli",
                        "workshop.created",
                        Some(&format!("workshop:{}", w.slug)),
                        None,
                    )
                    .await?;
                    println!("{base_url}/w/{}", w.slug);
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) if store::is_unique_violation(&e) => {
                    anyhow::bail!("--slug: a workshop `{}` exists already", new.slug.as_str())
                }
                Err(e) => Err(e.into()),
            }
        }
        WorkshopCommand::Attend { slug, email } => {
            match consentd::consultants::attend(&app, slug.trim(), &email, "cli", None).await? {
                None => anyhow::bail!("no workshop `{slug}`"),
                Some(Err(e)) => anyhow::bail!("--{}: {}", e.field, e.message),
                Some(Ok(new)) => {
                    println!(
                        "{}",
                        if new {
                            "attendance recorded"
                        } else {
                            "attendance was recorded already"
                        }
                    );
                    Ok(ExitCode::SUCCESS)
                }
            }
        }
        WorkshopCommand::List => {
            let counts: std::collections::HashMap<String, i64> =
                store::workshops::consent_counts(&app.db)
                    .await?
                    .into_iter()
                    .collect();
            for w in store::workshops::list(&app.db).await? {
                println!(
                    "{}\t{}\t{}–{}\t{}\t{} consent(s)\t{}{}",
                    w.slug,
                    w.title,
                    w.starts_on,
                    w.ends_on,
                    w.notice_id,
                    counts.get(&w.id).copied().unwrap_or(0),
                    format!("{base_url}/w/{}", w.slug),
                    if w.archived_at.is_some() {
                        "\tarchived"
                    } else {
                        ""
                    }
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn read_password(email: &str) -> anyhow::Result<String> {
    use std::io::{BufRead, IsTerminal};
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password(format!("Password for {email}: "))?;
        let second = rpassword::prompt_password("Repeat: ")?;
        anyhow::ensure!(first == second, "the passwords differ");
        Ok(first)
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        Ok(line.trim_end_matches(['\r', '\n']).to_owned())
    }
}

async fn user(settings: &Settings, command: UserCommand) -> anyhow::Result<ExitCode> {
    let app = App::open(settings).await?;
    match command {
        UserCommand::Add { email, role } => {
            let password = read_password(&email)?;
            let user =
                consentd::accounts::add_user(&app, &email, role, &password, "cli", None).await?;
            println!("added {} ({})", user.email, user.role);
        }
        UserCommand::List => {
            for u in store::users::list(&app.db).await? {
                println!(
                    "{}\t{}\t{}\tlast login {}",
                    u.email,
                    u.role,
                    if u.disabled_at.is_some() {
                        "disabled"
                    } else {
                        "active"
                    },
                    u.last_login_at
                        .map(|t| t.to_rfc3339())
                        .unwrap_or_else(|| "never".into())
                );
            }
        }
        UserCommand::Disable { email } => {
            let Some(found) = store::users::by_email(&app.db, &email.trim().to_lowercase()).await?
            else {
                anyhow::bail!("no user with this e-mail");
            };
            let user = consentd::accounts::disable_user(&app, found, "cli", None).await?;
            println!("disabled {}; their sessions have ended", user.email);
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn token(settings: &Settings, command: TokenCommand) -> anyhow::Result<ExitCode> {
    let app = App::open(settings).await?;
    match command {
        TokenCommand::Create {
            role,
            name,
            expires,
        } => {
            let (_, secret) =
                consentd::accounts::create_token(&app, &name, role, expires, "cli", None).await?;
            // Alone on stdout, for scripts: TOKEN=$(consentd token create …)
            println!("{secret}");
        }
        TokenCommand::Revoke { name } => {
            consentd::accounts::revoke_token(&app, &name, "cli", None).await?;
            eprintln!("revoked {name}");
        }
        TokenCommand::List => {
            for t in store::tokens::list(&app.db).await? {
                println!(
                    "{}\t{}\t{}\texpires {}\tlast used {}",
                    t.name,
                    t.role,
                    if t.revoked_at.is_some() {
                        "revoked"
                    } else {
                        "active"
                    },
                    t.expires_at
                        .map(|x| x.to_rfc3339())
                        .unwrap_or_else(|| "never".into()),
                    t.last_used_at
                        .map(|x| x.to_rfc3339())
                        .unwrap_or_else(|| "never".into())
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn notices(settings: &Settings, command: NoticesCommand) -> anyhow::Result<ExitCode> {
    let (app, report) = App::open_with_report(settings).await?;
    match command {
        NoticesCommand::Sync => {
            if report.is_empty() {
                println!("policies/ and the database agree; nothing to do");
            }
            for line in report {
                println!("{line}");
            }
        }
        NoticesCommand::List => {
            let catalog = app.catalog().await?;
            let today = app.clock.today_berlin();
            for notice in catalog.notices.values() {
                for v in &notice.versions {
                    println!(
                        "{}\tv{}\t{}\teffective {}\tcontent {}",
                        notice.id,
                        v.content.version,
                        notice.display_state(v, today).as_str(),
                        v.content.effective,
                        v.row.content_sha256
                    );
                }
            }
        }
        NoticesCommand::ApprovalRecord {
            notice,
            version,
            write,
        } => {
            let record = consentd::review::approval_record(&app, &notice, version).await?;
            let text = format!(
                "# Approval of notice `{notice}` version {version}, exported from consentd.\n\
                 # Imported at start when the files still hash to content_sha256.\n{}",
                toml::to_string(&record)?
            );
            if write {
                let path = settings
                    .policies
                    .join("notices")
                    .join(&notice)
                    .join(format!("v{version}.approval.toml"));
                std::fs::write(&path, text)
                    .with_context(|| format!("cannot write {}", path.display()))?;
                println!("wrote {}", path.display());
            } else {
                print!("{text}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn retention(settings: &Settings, command: RetentionCommand) -> anyhow::Result<ExitCode> {
    use consentd::retention::admin;
    let app = App::open(settings).await?;
    match command {
        RetentionCommand::Run {
            dry_run,
            as_of,
            json,
        } => {
            let report = consentd::retention::run(&app, dry_run, as_of).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                println!(
                    "retention {} as of {}: {} item(s) due, {} executed{}",
                    if dry_run { "dry run" } else { "run" },
                    report.as_of,
                    report.due_total,
                    report.executed,
                    if report.paused { " (paused)" } else { "" }
                );
                for t in &report.totals {
                    println!(
                        "  {}\tv{}\tdue {}\theld {}\texecuted {}",
                        t.category, t.rule_version, t.due, t.held, t.executed
                    );
                }
                for p in &report.due {
                    println!(
                        "  {}\t{}\tv{}\tstart {}\tdue {}\t{}",
                        if p.executed {
                            "done"
                        } else if p.held_by.is_some() {
                            "held"
                        } else {
                            "due"
                        },
                        p.category,
                        p.rule_version,
                        p.start_on,
                        p.due_on,
                        p.target
                    );
                }
                if report.due_total > report.due.len() {
                    println!(
                        "  … and {} more (see the totals)",
                        report.due_total - report.due.len()
                    );
                }
            }
        }
        RetentionCommand::Coverage { json } => {
            let problems = consentd::retention::coverage(&app).await?;
            if json {
                let tables: Vec<&str> = store::personal_data::COLUMNS
                    .iter()
                    .filter(|(_, cols)| {
                        cols.iter()
                            .any(|(_, h)| matches!(h, store::personal_data::Holds::Personal(_)))
                    })
                    .map(|(t, _)| *t)
                    .collect();
                println!(
                    "{}",
                    serde_json::json!({"ok": problems.is_empty(), "problems": problems, "personal_tables": tables})
                );
                return Ok(if problems.is_empty() {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::from(1)
                });
            }
            if problems.is_empty() {
                println!("every column holding personal data has a deletion rule");
            } else {
                for p in &problems {
                    println!("{p}");
                }
                return Ok(ExitCode::from(1));
            }
        }
        RetentionCommand::Concept { format, output } => {
            let bytes = match format.as_str() {
                "md" => consentd::retention::concept_markdown(&app).into_bytes(),
                "pdf" => consentd::pdf::retention::concept(&app).await?,
                other => anyhow::bail!("--format: `{other}` is not available (md, pdf)"),
            };
            write_output(output.as_deref(), &bytes)?;
        }
        RetentionCommand::Hold {
            subject,
            workshop,
            category,
            reason,
            until,
        } => {
            let (scope, target) = match (subject, workshop, category) {
                (Some(s), _, _) => ("subject", s),
                (_, Some(w), _) => ("workshop", w),
                (_, _, Some(c)) => ("category", c),
                _ => anyhow::bail!(
                    "name what to hold: --subject ID, --workshop SLUG or --category CATEGORY"
                ),
            };
            match admin::add_hold(&app, scope, &target, &reason, until, "cli", None).await? {
                Ok(hold) => println!("{}", hold.id),
                Err(e) => anyhow::bail!("--{}: {}", e.field, e.message),
            }
        }
        RetentionCommand::Holds => {
            let today = app.clock.today_berlin();
            for h in store::retention::holds(&app.db).await? {
                println!(
                    "{}\t{}:{}\t{}\tuntil {}\t{}",
                    h.id,
                    h.scope,
                    h.target,
                    if h.is_active(today) {
                        "active"
                    } else {
                        "released/ended"
                    },
                    h.ends_on
                        .map(|d| d.to_string())
                        .unwrap_or_else(|| "—".into()),
                    h.reason
                );
            }
        }
        RetentionCommand::Release { id } => {
            anyhow::ensure!(
                admin::release_hold(&app, id.trim(), "cli", None).await?,
                "no active hold with this id"
            );
            println!("released {id}");
        }
        RetentionCommand::Pause { reason } => match admin::pause(&app, &reason, "cli", None).await?
        {
            Ok(true) => println!("automated deletion paused"),
            Ok(false) => println!("automated deletion was paused already"),
            Err(e) => anyhow::bail!("--{}: {}", e.field, e.message),
        },
        RetentionCommand::Resume => {
            if admin::resume(&app, "cli", None).await? {
                println!("automated deletion resumed");
            } else {
                println!("automated deletion was not paused");
            }
        }
        RetentionCommand::Forecast { json } => {
            let f = admin::forecast(&app).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&f)?);
            } else {
                for m in &f.months {
                    println!(
                        "{}\t{}\t(held {})\t{:?}",
                        m.month, m.total, m.held, m.per_category
                    );
                }
            }
        }
        RetentionCommand::Replay { journals, json } => {
            let journals = if !journals.is_empty() {
                journals
            } else if settings.deletion_journal.exists() {
                vec![settings.deletion_journal.clone()]
            } else {
                // The default journal appears with the first deletion: nothing to repeat yet.
                // A journal named with --journal must exist.
                eprintln!(
                    "no deletion journal at {} yet: nothing was deleted, nothing to repeat",
                    settings.deletion_journal.display()
                );
                Vec::new()
            };
            let report = consentd::retention::replay(&app, &journals, "cli").await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                println!(
                    "replay: {} journal entries read; {} deleted again, {} already in the deletion log, \
                     {} with nothing left to delete, {} without row key (not replayable){}",
                    report.read,
                    report.replayed,
                    report.present,
                    report.absent,
                    report.without_row_key,
                    if report.torn_tails > 0 {
                        "; a torn last line was ignored"
                    } else {
                        ""
                    }
                );
            }
        }
        RetentionCommand::Report {
            from,
            to,
            format,
            output,
        } => {
            anyhow::ensure!(to >= from, "--to must not be before --from");
            let bytes = match format.as_str() {
                "csv" => admin::report_csv(&admin::report(&app, from, to).await?)?,
                "json" => serde_json::to_vec_pretty(&admin::report(&app, from, to).await?)?,
                "pdf" => consentd::pdf::retention::deletion_report(&app, from, to).await?,
                other => anyhow::bail!("--format: `{other}` is not available (csv, json, pdf)"),
            };
            write_output(output.as_deref(), &bytes)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes a document to `path`, or to stdout without one.
fn write_output(path: Option<&std::path::Path>, bytes: &[u8]) -> anyhow::Result<()> {
    match path {
        Some(path) => {
            std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))
        }
        None => {
            let mut out = std::io::stdout().lock();
            std::io::Write::write_all(&mut out, bytes)?;
            Ok(std::io::Write::flush(&mut out)?)
        }
    }
}

async fn consultant(settings: &Settings, command: ConsultantCommand) -> anyhow::Result<ExitCode> {
    let app = App::open(settings).await?;
    match command {
        ConsultantCommand::Add {
            name,
            email,
            authorised_on,
            language,
        } => match consentd::consultants::add(
            &app,
            &name,
            &email,
            authorised_on,
            language.as_deref(),
            "cli",
            None,
        )
        .await?
        {
            Ok(id) => println!("{id}"),
            Err(e) => anyhow::bail!("--{}: {}", e.field.replace('_', "-"), e.message),
        },
        ConsultantCommand::Import { file } => {
            let bytes =
                std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let text = consentd::consultants::csv_text(&bytes);
            match consentd::consultants::import_csv(&app, &text, "cli", None).await? {
                Ok(n) => println!("{n} consultant(s) added"),
                Err(e) => anyhow::bail!("{}: {}", e.field, e.message),
            }
        }
        ConsultantCommand::List { format } => {
            let rule = app
                .policies
                .retention
                .iter()
                .find(|r| r.category == "berater-listung");
            let rows: Vec<serde_json::Value> = store::consultants::list(&app.db)
                .await?
                .into_iter()
                .map(|c| {
                    let due = rule.map(|r| r.due(c.last_authorised_on));
                    serde_json::json!({
                        "id": c.id, "name": c.name, "email": c.email,
                        "last_authorised_on": c.last_authorised_on, "listing_deleted_on": due,
                    })
                })
                .collect();
            if format == "json" {
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                for r in rows {
                    println!(
                        "{}\t{}\tlast {}\tdeleted on {}",
                        r["name"].as_str().unwrap_or_default(),
                        r["email"].as_str().unwrap_or_default(),
                        r["last_authorised_on"],
                        r["listing_deleted_on"]
                    );
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn outbox(settings: &Settings, command: OutboxCommand) -> anyhow::Result<ExitCode> {
    let app = App::open(settings).await?;
    match command {
        OutboxCommand::List { format } => {
            let messages = store::consultants::outbox(&app.db).await?;
            if format == "json" {
                println!("{}", serde_json::to_string_pretty(&messages)?);
            } else {
                for m in messages {
                    println!(
                        "{}\t{}\tattempts {}\t{}\t{}",
                        m.created_at.to_rfc3339(),
                        m.state,
                        m.attempts,
                        m.dedupe_key,
                        m.subject
                    );
                }
            }
        }
        OutboxCommand::Deliver => {
            let Some(mailer) = consentd::mail::Mailer::from_settings(
                settings.smtp_url.as_deref(),
                &settings.mail_from,
            )?
            else {
                anyhow::bail!("no SMTP relay configured (CONSENTD_SMTP_URL=smtp://host:port)");
            };
            let (sent, failed) = consentd::mail::deliver(&app, &mailer).await?;
            println!("{sent} sent, {failed} failed (retried later)");
        }
    }
    Ok(ExitCode::SUCCESS)
}
