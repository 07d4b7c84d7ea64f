//! Prometheus metrics: requests by route and status, and their latency, at `/metrics`.

use crate::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Instant;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

#[derive(Default)]
struct RouteStats {
    by_status: BTreeMap<u16, u64>,
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum_seconds: f64,
}

#[derive(Default)]
pub struct Metrics {
    routes: Mutex<BTreeMap<(String, String), RouteStats>>,
}

impl Metrics {
    pub fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let mut routes = self.routes.lock().expect("metrics lock");
        let r = routes.entry((method.to_string(), route.to_string())).or_default();
        *r.by_status.entry(status).or_default() += 1;
        for (i, bound) in BUCKETS.iter().enumerate() {
            if seconds <= *bound {
                r.buckets[i] += 1;
            }
        }
        r.count += 1;
        r.sum_seconds += seconds;
    }

    /// The Prometheus text exposition format, version 0.0.4.
    pub fn render(&self) -> String {
        let routes = self.routes.lock().expect("metrics lock");
        let mut out = String::new();
        out.push_str("# HELP bureau_http_requests_total HTTP requests answered, by route and status.\n");
        out.push_str("# TYPE bureau_http_requests_total counter\n");
        for ((method, route), r) in routes.iter() {
            for (status, n) in &r.by_status {
                let _ = writeln!(out, "bureau_http_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {n}");
            }
        }
        out.push_str("# HELP bureau_http_request_duration_seconds Time to answer, by route.\n");
        out.push_str("# TYPE bureau_http_request_duration_seconds histogram\n");
        for ((method, route), r) in routes.iter() {
            let labels = format!("method=\"{method}\",route=\"{route}\"");
            for (i, bound) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "bureau_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {}",
                    r.buckets[i]
                );
            }
            let _ = writeln!(
                out,
                "bureau_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                r.count
            );
            let _ = writeln!(out, "bureau_http_request_duration_seconds_sum{{{labels}}} {}", r.sum_seconds);
            let _ = writeln!(out, "bureau_http_request_duration_seconds_count{{{labels}}} {}", r.count);
        }
        out
    }
}

/// Middleware: times every request, labelled by its route pattern (never the raw path, so that
/// account numbers do not become labels).
pub async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let method = req.method().to_string();
    let start = Instant::now();
    let resp = next.run(req).await;
    state.metrics.observe(&method, &route, resp.status().as_u16(), start.elapsed().as_secs_f64());
    resp
}

pub async fn render(State(state): State<AppState>) -> impl IntoResponse {
    ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], state.metrics.render())
}

#[cfg(test)]
mod tests {
    #[test]
    fn renders_counters_and_histograms() {
        let m = super::Metrics::default();
        m.observe("GET", "/api/v1/customers", 200, 0.003);
        m.observe("GET", "/api/v1/customers", 401, 0.0005);
        let text = m.render();
        assert!(text.contains(
            "bureau_http_requests_total{method=\"GET\",route=\"/api/v1/customers\",status=\"200\"} 1"
        ));
        assert!(text.contains("le=\"0.001\"} 1"));
        assert!(text.contains("le=\"0.005\"} 2"));
        assert!(text.contains("_count{method=\"GET\",route=\"/api/v1/customers\"} 2"));
    }
}
