//! HTTP for the bureau: the JSON API under `/api/v1` with its OpenAPI document, the staff console
//! (server-rendered pages, Chinese first with an English switch), `/healthz` and `/metrics`.
//!
//! Handlers are thin: they read the request, call a use case of `bureau-app`, and render its answer.
//! No rule of the trade is written here.

pub mod api;
pub mod auth;
pub mod customer_auth;
pub mod error;
pub mod i18n;
pub mod metrics;
pub mod pages;

use axum::Router;
use bureau_store::DynStore;
use std::net::SocketAddr;
use std::sync::Arc;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: DynStore,
    pub metrics: Arc<metrics::Metrics>,
    pub actors: Arc<auth::ActorCache>,
    /// The live grid model of each bureau (tracing, prediction).
    pub grid: Arc<bureau_app::grid::ops::GridCache>,
    /// Customer logins seen in the last seconds (the portal and the bill query).
    pub customers: Arc<customer_auth::CustomerCache>,
    /// Rate limits of customer logins and code requests (per process; see `bureau_app::portal::limit`).
    pub limits: Arc<bureau_app::portal::PortalLimits>,
    /// Bill runs started from the web, running in the background.
    pub bill_runs: Arc<bureau_app::billing::jobs::BillRunJobs>,
}

impl AppState {
    pub fn new(store: DynStore) -> AppState {
        AppState {
            store,
            metrics: Arc::default(),
            actors: Arc::default(),
            grid: Arc::default(),
            customers: Arc::default(),
            limits: Arc::default(),
            bill_runs: Arc::new(bureau_app::billing::jobs::BillRunJobs::new(
                std::env::var("BUREAU_BILL_RUN_LEASE_SECS")
                    .ok()
                    .and_then(|s| s.trim().parse().ok())
                    .unwrap_or(bureau_app::billing::jobs::DEFAULT_LEASE_SECS),
            )),
        }
    }
}

/// The whole application: API, OpenAPI document, pages, health and metrics.
pub fn router(state: AppState) -> Router {
    let (api, openapi) = api::router().split_for_parts();
    let openapi = Arc::new(openapi);
    Router::new()
        .merge(api)
        .route(
            "/api/openapi.json",
            axum::routing::get(move || {
                let doc = openapi.clone();
                async move { axum::Json(doc.as_ref().clone()) }
            }),
        )
        .merge(pages::router())
        .route("/healthz", axum::routing::get(health))
        .route("/metrics", axum::routing::get(metrics::render))
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(state.clone(), metrics::track))
        .with_state(state)
}

async fn health(axum::extract::State(state): axum::extract::State<AppState>) -> axum::response::Response {
    use axum::response::IntoResponse;
    match state.store.ping().await {
        Ok(()) => {
            axum::Json(serde_json::json!({"status": "ok", "database": state.store.backend()})).into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "health check: database unreachable");
            (
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(serde_json::json!({"status": "unavailable", "database": state.store.backend()})),
            )
                .into_response()
        }
    }
}

/// Unknown addresses: the JSON error shape under `/api`, a page elsewhere.
async fn not_found(req: axum::extract::Request) -> axum::response::Response {
    use axum::response::IntoResponse;
    let (parts, _) = req.into_parts();
    let lang = auth::request_lang(&parts);
    let e = bureau_app::AppError::not_found("page", parts.uri.path());
    if parts.uri.path().starts_with("/api/") {
        error::ApiError::new(e, lang).into_response()
    } else {
        pages::error_page(&e, lang)
    }
}

/// Serves until the process is stopped (Ctrl-C or SIGTERM).
pub async fn serve(store: DynStore, listener: tokio::net::TcpListener) -> anyhow::Result<()> {
    let state = AppState::new(store);
    // Fault-repair orders reach the outage grouping through this worker, which shares the live model.
    // It stops with the server, also when the server's task is aborted.
    let _intake =
        AbortOnDrop(bureau_app::grid::intake::worker(state.store.clone(), state.grid.clone()).spawn());
    // Bill run jobs of a process that died (this server before a restart, or another server) are
    // taken over and finished.
    let _resumer = AbortOnDrop(
        state.bill_runs.clone().spawn_resumer(state.store.clone(), api::billing::tariffs().clone()),
    );
    let app = router(state);
    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown())
        .await?;
    Ok(())
}

/// A background task that ends when this is dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}
