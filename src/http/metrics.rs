//! Prometheus metrics at `/metrics`: requests and their latency (by method, route template and
//! status — never a concrete path), and the service's own numbers read from the database at
//! scrape time (so every instance reports the same): consents, withdrawals, deletions, ledger
//! length, the last retention run seen by this process.

use std::sync::atomic::Ordering;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
    TextEncoder,
};

use super::AppState;
use super::error::Error;

/// The process's request metrics and gauges, registered once.
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    consents: IntGauge,
    withdrawals: IntGauge,
    deletions: IntGauge,
    ledger_length: IntGauge,
    last_retention_run: IntGauge,
    consent_commits: IntCounter,
    consents_committed: IntCounter,
}

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new(
                "consentd_http_requests_total",
                "HTTP requests by method, route template and status",
            ),
            &["method", "route", "status"],
        )
        .expect("valid metric");
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "consentd_http_request_duration_seconds",
                "HTTP request latency",
            )
            .buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
            ]),
            &["method", "route"],
        )
        .expect("valid metric");
        let gauge = |name: &str, help: &str| IntGauge::new(name, help).expect("valid metric");
        let counter = |name: &str, help: &str| IntCounter::new(name, help).expect("valid metric");
        let metrics = Metrics {
            consents: gauge("consentd_consent_records", "Consent records stored"),
            withdrawals: gauge("consentd_withdrawals", "Withdrawal events stored"),
            deletions: gauge(
                "consentd_deletions",
                "Deletion log entries (deletions under retention rules and on request)",
            ),
            ledger_length: gauge(
                "consentd_ledger_length",
                "Entries in the hash-chained ledger",
            ),
            last_retention_run: gauge(
                "consentd_last_retention_run_timestamp_seconds",
                "When this process last finished a retention run (0: not yet)",
            ),
            consent_commits: counter(
                "consentd_consent_commits_total",
                "Transactions that stored new consents (group commit: several per transaction)",
            ),
            consents_committed: counter(
                "consentd_consents_committed_total",
                "New consents stored by this process",
            ),
            registry,
            requests,
            latency,
        };
        let collectors: Vec<Box<dyn prometheus::core::Collector>> = vec![
            Box::new(metrics.requests.clone()),
            Box::new(metrics.latency.clone()),
            Box::new(metrics.consents.clone()),
            Box::new(metrics.withdrawals.clone()),
            Box::new(metrics.deletions.clone()),
            Box::new(metrics.ledger_length.clone()),
            Box::new(metrics.last_retention_run.clone()),
            Box::new(metrics.consent_commits.clone()),
            Box::new(metrics.consents_committed.clone()),
        ];
        for c in collectors {
            metrics
                .registry
                .register(c)
                .expect("metric names are unique");
        }
        metrics
    }

    pub fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        self.requests
            .with_label_values(&[method, route, &status.to_string()])
            .inc();
        self.latency
            .with_label_values(&[method, route])
            .observe(seconds);
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// The metrics in Prometheus' text format.
pub async fn scrape(State(state): State<AppState>) -> Result<impl IntoResponse, Error> {
    let m = &state.metrics;
    let counts = crate::store::ledger::counts(&state.app.db).await?;
    m.consents.set(counts.consent_records);
    m.withdrawals.set(counts.withdrawals);
    m.deletions.set(counts.deletions);
    m.ledger_length.set(counts.ledger_length);
    m.last_retention_run
        .set(state.app.last_retention_run.load(Ordering::Relaxed));
    let (commits, consents) = state.app.consents.committed();
    // Counters only go up: bring them to the writer's totals.
    m.consent_commits
        .inc_by(commits.saturating_sub(m.consent_commits.get()));
    m.consents_committed
        .inc_by(consents.saturating_sub(m.consents_committed.get()));
    let mut body = Vec::new();
    TextEncoder::new()
        .encode(&m.registry.gather(), &mut body)
        .map_err(|e| anyhow::anyhow!("cannot encode metrics: {e}"))?;
    Ok(([(header::CONTENT_TYPE, prometheus::TEXT_FORMAT)], body))
}
