//! Configuration in one place: flags with `CONSENTD_*` environment variables behind them.

use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(clap::Args, Debug, Clone)]
pub struct Settings {
    /// Database: sqlite://PATH (embedded default) or postgres://USER@HOST/DB.
    #[arg(
        long,
        env = "CONSENTD_DATABASE_URL",
        default_value = "sqlite://data/consentd.db",
        global = true
    )]
    pub database_url: String,

    /// Folder with controllers.toml and notices/.
    #[arg(
        long,
        env = "CONSENTD_POLICIES",
        default_value = "policies",
        global = true
    )]
    pub policies: PathBuf,

    /// The address participants reach the service at, for links printed by the CLI.
    #[arg(long, env = "CONSENTD_PUBLIC_URL", global = true)]
    pub public_url: Option<String>,

    /// SMTP relay for reminder letters, smtp://host:port (none: letters wait in the outbox).
    #[arg(long, env = "CONSENTD_SMTP_URL", global = true)]
    pub smtp_url: Option<String>,

    /// Sender address of reminder letters.
    #[arg(
        long,
        env = "CONSENTD_MAIL_FROM",
        default_value = "datenschutz@consentd.invalid",
        global = true
    )]
    pub mail_from: String,

    /// The deletion journal: every deletion, also outside the database, for
    /// `retention replay` after a backup is restored. Keep it apart from the backups.
    #[arg(
        long,
        env = "CONSENTD_DELETION_JOURNAL",
        default_value = "data/deletion-journal.jsonl",
        global = true
    )]
    pub deletion_journal: PathBuf,

    /// The Ed25519 key receipts are signed with (PKCS#8 PEM, created with mode 0600 on first
    /// start). Several instances may share one file or each have their own.
    #[arg(
        long,
        env = "CONSENTD_SIGNING_KEY",
        default_value = "data/signing-key.pem",
        global = true
    )]
    pub signing_key: PathBuf,

    /// Items a retention run deletes per transaction, each with one commit: more is faster,
    /// fewer holds less memory and leaves less to redo after a crash.
    #[arg(
        long,
        env = "CONSENTD_RETENTION_PAGE",
        default_value = "10000",
        value_parser = clap::value_parser!(u32).range(1..=100_000),
        global = true
    )]
    pub retention_page: u32,
}

#[derive(clap::Args, Debug, Clone)]
pub struct ServeSettings {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, env = "CONSENTD_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Requests per minute per client address on public endpoints, or `off` (load tests).
    #[arg(long, env = "CONSENTD_RATE_LIMIT", default_value = "120")]
    pub rate_limit: RateLimit,

    /// Requests per minute per collector token on public endpoints (the registration site).
    #[arg(long, env = "CONSENTD_RATE_LIMIT_COLLECTOR", default_value = "6000")]
    pub rate_limit_collector: std::num::NonZeroU32,

    /// Seconds between scheduled retention runs, or `off`.
    #[arg(long, env = "CONSENTD_RETENTION_INTERVAL", default_value = "3600")]
    pub retention_interval: RetentionInterval,

    /// Reverse proxies whose X-Forwarded-For is believed, comma-separated.
    #[arg(long, env = "CONSENTD_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<std::net::IpAddr>,
}

/// A per-minute budget, or no limit at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateLimit {
    Off,
    PerMinute(std::num::NonZeroU32),
}

impl std::str::FromStr for RateLimit {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim() {
            "off" => Ok(RateLimit::Off),
            n => n.parse().map(RateLimit::PerMinute).map_err(|_| {
                format!("`{n}`: expected `off` or a number of requests per minute (1 or more)")
            }),
        }
    }
}

impl Settings {
    /// Base URL for links: the configured public URL, else the listen address.
    pub fn base_url(&self, listening: Option<SocketAddr>) -> String {
        if let Some(url) = &self.public_url {
            return url.trim_end_matches('/').to_owned();
        }
        match listening {
            Some(addr) => format!("http://{addr}"),
            None => "http://127.0.0.1:8080".to_owned(),
        }
    }
}

/// How often `serve` runs the retention engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetentionInterval {
    Off,
    Every(std::time::Duration),
}

impl std::str::FromStr for RetentionInterval {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim() {
            "off" => Ok(RetentionInterval::Off),
            n => match n.parse::<u64>() {
                Ok(secs) if secs > 0 => Ok(RetentionInterval::Every(
                    std::time::Duration::from_secs(secs),
                )),
                _ => Err(format!("`{n}`: expected `off` or a number of seconds")),
            },
        }
    }
}

/// How long one database statement may wait — for a lock, or for a database that accepts
/// connections but does not answer — before the request gets `503 unavailable`:
/// `CONSENTD_DB_TIMEOUT` seconds, default 25, below the 30 s request timeout so that clients
/// see 503 rather than 408. (An environment setting rather than a flag: every command that
/// opens the database uses it.)
pub fn database_wait() -> anyhow::Result<std::time::Duration> {
    match std::env::var("CONSENTD_DB_TIMEOUT") {
        Err(_) => Ok(std::time::Duration::from_secs(25)),
        Ok(raw) => raw
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|s| (1..=3600).contains(s))
            .map(std::time::Duration::from_secs)
            .ok_or_else(|| {
                anyhow::anyhow!("CONSENTD_DB_TIMEOUT: expected seconds from 1 to 3600, got `{raw}`")
            }),
    }
}
