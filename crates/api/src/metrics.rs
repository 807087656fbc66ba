//! Prometheus metrics at `GET /metrics`: requests by service, operation and HTTP status,
//! their latency, and what the layers below count (authorization decisions, the read
//! cache's hits and misses, failed sign-in and MFA attempts, the database pool's use).
//! Recorded through the `metrics` facade; rendered by `metrics-exporter-prometheus`.

use std::sync::OnceLock;
use std::time::Duration;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use crate::AppState;

/// Request latency buckets, in seconds (50 µs to 10 s).
const LATENCY_BUCKETS: &[f64] = &[0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

/// How often the recorder folds recorded samples into its histograms' buckets.
const UPKEEP: Duration = Duration::from_secs(5);

/// The process's recorder, installed on first use. When another recorder was installed
/// first (an embedding program's), ours still renders, but nothing records into it.
///
/// A histogram keeps each sample until upkeep folds it into the buckets; `/metrics` does
/// that as it renders, but a server nobody scrapes would keep every request's sample (about
/// 20 bytes a request, for ever: found by bench/soak). So upkeep also runs every five
/// seconds, from the first use inside the runtime.
pub fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let builder = || PrometheusBuilder::new().set_buckets(LATENCY_BUCKETS).unwrap_or_else(|_| PrometheusBuilder::new());
        let handle = builder().install_recorder().unwrap_or_else(|_| builder().build_recorder().handle());
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let upkeep = handle.clone();
            runtime.spawn(async move {
                let mut every = tokio::time::interval(UPKEEP);
                every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    every.tick().await;
                    upkeep.run_upkeep();
                }
            });
        }
        handle
    })
}

/// Counts one request of an AWS API and its latency.
///
/// The counter and histogram of each (service, operation, status) are looked up in the
/// recorder's registry once per worker thread and kept: a lookup builds the labels
/// (allocating the operation's name and the status's text) and hashes them, which was a
/// visible part of a cheap request's cost.
pub fn record_request(service: &'static str, operation: &str, status: u16, elapsed: Duration) {
    type Handles = (metrics::Counter, metrics::Histogram);
    thread_local! {
        static HANDLES: std::cell::RefCell<std::collections::HashMap<(&'static str, u16), std::collections::HashMap<String, Handles>>> =
            Default::default();
    }
    HANDLES.with(|h| {
        let mut h = h.borrow_mut();
        let by_operation = h.entry((service, status)).or_default();
        if !by_operation.contains_key(operation) {
            // Bounded: operations come from the service models, statuses are HTTP's.
            let counter = metrics::counter!("portcullis_requests_total", "service" => service, "operation" => operation.to_owned(), "status" => status.to_string());
            let histogram = metrics::histogram!("portcullis_request_duration_seconds", "service" => service, "operation" => operation.to_owned());
            by_operation.insert(operation.to_owned(), (counter, histogram));
        }
        if let Some((counter, histogram)) = by_operation.get(operation) {
            counter.increment(1);
            histogram.record(elapsed.as_secs_f64());
        }
    });
}

/// `GET /metrics`: the Prometheus text format.
pub async fn render(State(state): State<std::sync::Arc<AppState>>) -> Response {
    if let Some((in_use, idle, max)) = state.iam.pool_use() {
        metrics::gauge!("portcullis_db_connections", "state" => "in_use").set(f64::from(in_use));
        metrics::gauge!("portcullis_db_connections", "state" => "idle").set(f64::from(idle));
        metrics::gauge!("portcullis_db_connections_max").set(f64::from(max));
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], handle().render()).into_response()
}
