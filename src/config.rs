//! Configuration in one place: flags with `CONSENTD_*` environment variables behind them.

use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(clap::Args, Debug, Clone)]
pub struct Settings {
    /// Database: sqlite://PATH (embedded default) or postgres://USER@HOST/DB.
    #[arg(long, env = "CONSENTD_DATABASE_URL", default_value = "sqlite://data/consentd.db", global = true)]
    pub database_url: String,

    /// Folder with controllers.toml and notices/.
    #[arg(long, env = "CONSENTD_POLICIES", default_value = "policies", global = true)]
    pub policies: PathBuf,

    /// The address participants reach the service at, for links printed by the CLI.
    #[arg(long, env = "CONSENTD_PUBLIC_URL", global = true)]
    pub public_url: Option<String>,
}

#[derive(clap::Args, Debug, Clone)]
pub struct ServeSettings {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, env = "CONSENTD_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
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
