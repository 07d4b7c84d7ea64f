//! The delivery worker: claims due messages under a lease, hands each to its channel's adapter,
//! and records the outcome; a failure is retried after an exponentially growing pause.
//!
//! Configuration (environment, read by [`OutboxConfig::from_env`]):
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `BUREAU_WEBHOOK_URL` | webhook for every channel without its own | none |
//! | `BUREAU_WEBHOOK_URL_<CHANNEL>` | webhook for one channel, e.g. `BUREAU_WEBHOOK_URL_SMS` | none |
//! | `BUREAU_WEBHOOK_TOKEN` | bearer token sent to the webhooks | none |
//! | `BUREAU_OUTBOX_BACKOFF_SECS` | pause after the first failure; doubles each time | 30 |
//! | `BUREAU_OUTBOX_BACKOFF_MAX_SECS` | longest pause | 3600 |
//! | `BUREAU_OUTBOX_POLL_MS` | how often the worker looks for due messages | 1000 |
//!
//! Messages on a channel with no adapter are left pending (visible in the record) until a worker
//! that has one runs.

use super::adapter::{Adapter, DeliveryError, Webhook};
use crate::error::{AppError, AppResult};
use bureau_domain::error::FieldError;
use bureau_store::{Claim, DynStore, OutboxMessage};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// A webhook for one channel (`*` for every channel without its own).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookRoute {
    pub channel: String,
    pub url: String,
}

/// How the worker runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboxConfig {
    pub webhooks: Vec<WebhookRoute>,
    pub token: Option<String>,
    pub backoff_secs: i64,
    pub backoff_max_secs: i64,
    /// How long a claim lasts; a worker that dies leaves its messages to others after this.
    pub lease_secs: i64,
    pub poll: Duration,
    pub batch: u32,
    pub request_timeout: Duration,
}

impl Default for OutboxConfig {
    fn default() -> Self {
        OutboxConfig {
            webhooks: Vec::new(),
            token: None,
            backoff_secs: 30,
            backoff_max_secs: 3600,
            lease_secs: 120,
            poll: Duration::from_millis(1000),
            batch: 50,
            request_timeout: Duration::from_secs(10),
        }
    }
}

fn env_number(name: &str, default: i64, min: i64) -> Result<i64, FieldError> {
    match std::env::var(name) {
        Err(_) => Ok(default),
        Ok(v) => match v.trim().parse::<i64>() {
            Ok(n) if n >= min => Ok(n),
            _ => Err(FieldError::invalid(
                name,
                format!("应为不小于{min}的整数，而不是“{v}”"),
                format!("expected a whole number ≥ {min}, not '{v}'"),
            )),
        },
    }
}

impl OutboxConfig {
    /// Whether messages of `channel` get delivered: a webhook for it or for every channel (`*`),
    /// or the grid hand-over, which the grid intake worker in the server drains itself.
    pub fn delivers(&self, channel: &str) -> bool {
        channel == bureau_store::GRID_INTAKE_CHANNEL
            || self.webhooks.iter().any(|w| w.channel == "*" || w.channel == channel)
    }

    /// Reads the environment (see the module documentation).
    pub fn from_env() -> Result<OutboxConfig, FieldError> {
        let mut cfg = OutboxConfig::default();
        for (name, value) in std::env::vars() {
            if value.trim().is_empty() {
                continue;
            }
            if name == "BUREAU_WEBHOOK_URL" {
                cfg.webhooks.push(WebhookRoute { channel: "*".into(), url: value });
            } else if let Some(ch) = name.strip_prefix("BUREAU_WEBHOOK_URL_") {
                let channel = ch.to_ascii_lowercase();
                if !super::valid_channel(&channel) {
                    return Err(FieldError::invalid(
                        &name,
                        "渠道名只能用字母、数字和下划线",
                        "a channel name has letters, digits and '_' only",
                    ));
                }
                cfg.webhooks.push(WebhookRoute { channel, url: value });
            }
        }
        cfg.webhooks.sort_by(|a, b| a.channel.cmp(&b.channel));
        cfg.token = std::env::var("BUREAU_WEBHOOK_TOKEN").ok().filter(|t| !t.trim().is_empty());
        cfg.backoff_secs = env_number("BUREAU_OUTBOX_BACKOFF_SECS", cfg.backoff_secs, 0)?;
        cfg.backoff_max_secs = env_number("BUREAU_OUTBOX_BACKOFF_MAX_SECS", cfg.backoff_max_secs, 0)?;
        cfg.poll = Duration::from_millis(env_number("BUREAU_OUTBOX_POLL_MS", 1000, 10)? as u64);
        Ok(cfg)
    }
}

/// The pause before attempt `attempts + 1` after `attempts` failed ones: `base · 2^(attempts−1)`,
/// at most `max`.
pub fn backoff_secs(attempts: i64, base: i64, max: i64) -> i64 {
    let exp = (attempts.max(1) - 1).min(30) as u32;
    base.saturating_mul(1i64 << exp).min(max)
}

/// What one pass of the worker did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct RunReport {
    pub claimed: u64,
    pub sent: u64,
    /// Failed and will be tried again.
    pub retrying: u64,
    /// Failed for good (refused, or out of attempts).
    pub dead: u64,
    /// The lease ran out before the outcome was recorded (another worker has the message now).
    pub lost: u64,
}

impl std::ops::AddAssign for RunReport {
    fn add_assign(&mut self, o: RunReport) {
        self.claimed += o.claimed;
        self.sent += o.sent;
        self.retrying += o.retrying;
        self.dead += o.dead;
        self.lost += o.lost;
    }
}

/// A delivery worker over a store and a set of channel adapters.
#[derive(Clone)]
pub struct Outbox {
    store: DynStore,
    adapters: BTreeMap<String, Arc<dyn Adapter>>,
    fallback: Option<Arc<dyn Adapter>>,
    cfg: OutboxConfig,
}

impl Outbox {
    /// A worker with the configured webhooks; a bad URL is an error naming its variable.
    pub fn new(store: DynStore, cfg: OutboxConfig) -> Result<Outbox, FieldError> {
        let mut out = Outbox { store, adapters: BTreeMap::new(), fallback: None, cfg: cfg.clone() };
        for r in &cfg.webhooks {
            let hook =
                Webhook::new(&r.url, cfg.token.clone(), cfg.request_timeout).map_err(|e| FieldError {
                    field: if r.channel == "*" {
                        "BUREAU_WEBHOOK_URL".into()
                    } else {
                        format!("BUREAU_WEBHOOK_URL_{}", r.channel.to_ascii_uppercase())
                    },
                    ..e
                })?;
            out = out.with_adapter(&r.channel, Arc::new(hook));
        }
        Ok(out)
    }

    /// Adds (or replaces) the adapter of a channel; `*` is the fallback for every other channel.
    pub fn with_adapter(mut self, channel: &str, adapter: Arc<dyn Adapter>) -> Outbox {
        if channel == "*" {
            self.fallback = Some(adapter);
        } else {
            self.adapters.insert(channel.to_string(), adapter);
        }
        self
    }

    /// Whether any adapter is configured (otherwise the worker has nothing to do).
    pub fn has_adapters(&self) -> bool {
        self.fallback.is_some() || !self.adapters.is_empty()
    }

    fn adapter(&self, channel: &str) -> Option<Arc<dyn Adapter>> {
        self.adapters.get(channel).cloned().or_else(|| self.fallback.clone())
    }

    /// Delivers everything due at `now`, batch after batch, until nothing due is left.
    pub async fn run_once(&self, now: i64) -> AppResult<RunReport> {
        let mut total = RunReport::default();
        if !self.has_adapters() {
            return Ok(total);
        }
        let channels: Vec<String> = self.adapters.keys().cloned().collect();
        let channels = if self.fallback.is_some() { None } else { Some(channels.as_slice()) };
        loop {
            let token = super::new_id("C");
            let claimed = self
                .store
                .claim_outbox(&Claim {
                    channels,
                    now,
                    token: &token,
                    lease_until: now + self.cfg.lease_secs,
                    limit: self.cfg.batch,
                })
                .await?;
            if claimed.is_empty() {
                return Ok(total);
            }
            let n = claimed.len();
            let mut set = tokio::task::JoinSet::new();
            for msg in claimed {
                let this = self.clone();
                let token = token.clone();
                set.spawn(async move { this.deliver_one(msg, &token, now).await });
            }
            while let Some(r) = set.join_next().await {
                let r = r.map_err(|e| AppError::Store(bureau_store::StoreError::Database(e.to_string())))?;
                total += r?;
            }
            if n < self.cfg.batch as usize {
                return Ok(total);
            }
        }
    }

    async fn deliver_one(&self, msg: OutboxMessage, token: &str, now: i64) -> AppResult<RunReport> {
        let outcome = match self.adapter(&msg.channel) {
            Some(a) => a.deliver(&msg).await,
            None => Err(DeliveryError::retry(format!("no adapter for channel {}", msg.channel))),
        };
        record_outcome(&self.store, &self.cfg, &msg, token, now, outcome).await
    }

    /// Runs until the task is dropped or aborted: a pass every poll interval. Errors (a database
    /// that is briefly unreachable) are logged and the next pass tries again.
    pub fn spawn(self) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            loop {
                match self.run_once(crate::auth::now_unix()).await {
                    Ok(r) if r.claimed > 0 => tracing::debug!(?r, "outbox pass"),
                    Ok(_) => {}
                    Err(e) => tracing::error!(error = %e, "outbox pass failed"),
                }
                tokio::time::sleep(self.cfg.poll).await;
            }
        })
    }
}

/// Records the outcome of one claimed message under the claim's `token`: sent, or failed and retried
/// after [`backoff_secs`] (a retryable failure with attempts left), or given up with the reason.
pub(crate) async fn record_outcome(
    store: &DynStore,
    cfg: &OutboxConfig,
    msg: &OutboxMessage,
    token: &str,
    now: i64,
    outcome: Result<(), DeliveryError>,
) -> AppResult<RunReport> {
    let mut r = RunReport { claimed: 1, ..RunReport::default() };
    match outcome {
        Ok(()) => {
            if store.mark_outbox_sent(&msg.id, token, crate::auth::now_unix().max(now)).await? {
                r.sent = 1;
                tracing::info!(key = %msg.key, channel = %msg.channel, attempt = msg.attempts, "notification sent");
            } else {
                r.lost = 1;
            }
        }
        Err(e) => {
            let last = msg.attempts >= msg.max_attempts;
            let retry_at = (e.retryable && !last)
                .then(|| now + backoff_secs(msg.attempts, cfg.backoff_secs, cfg.backoff_max_secs));
            let recorded = store.mark_outbox_failed(&msg.id, token, &e.message, retry_at).await?;
            if !recorded {
                r.lost = 1;
            } else if retry_at.is_some() {
                r.retrying = 1;
                tracing::warn!(key = %msg.key, attempt = msg.attempts, error = %e.message, "notification failed; will retry");
            } else {
                r.dead = 1;
                tracing::error!(key = %msg.key, attempt = msg.attempts, error = %e.message, "notification given up");
            }
        }
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::backoff_secs;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        assert_eq!(backoff_secs(1, 30, 3600), 30);
        assert_eq!(backoff_secs(2, 30, 3600), 60);
        assert_eq!(backoff_secs(3, 30, 3600), 120);
        assert_eq!(backoff_secs(7, 30, 3600), 1920);
        assert_eq!(backoff_secs(8, 30, 3600), 3600);
        assert_eq!(backoff_secs(200, 30, 3600), 3600);
        assert_eq!(backoff_secs(0, 30, 3600), 30);
    }
}
