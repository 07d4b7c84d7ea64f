//! Channel adapters: how a message leaves the bureau.
//!
//! [`Webhook`] POSTs the message as JSON to a configured URL: an SMS gateway, a phone system's
//! auto-dialler, a chat bot. Built with plain HTTP only (reqwest without a TLS stack), which is
//! what a county's gateway on the internal network speaks; an `https://` URL is refused when the
//! worker is configured, with a message saying so, rather than failing at delivery time.

use bureau_domain::error::FieldError;
use bureau_store::OutboxMessage;
use std::time::Duration;

/// Why a delivery failed, and whether trying again may help.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryError {
    /// True for timeouts, refused connections, 5xx, 408 and 429; false when the receiver refused
    /// the message itself (other 4xx), which will not change by retrying.
    pub retryable: bool,
    pub message: String,
}

impl DeliveryError {
    pub fn retry(message: impl Into<String>) -> DeliveryError {
        DeliveryError { retryable: true, message: message.into() }
    }
    pub fn permanent(message: impl Into<String>) -> DeliveryError {
        DeliveryError { retryable: false, message: message.into() }
    }
}

/// Delivers messages of one channel.
#[async_trait::async_trait]
pub trait Adapter: Send + Sync {
    async fn deliver(&self, msg: &OutboxMessage) -> Result<(), DeliveryError>;
}

/// POSTs each message as JSON:
///
/// ```json
/// {"id": "N…", "key": "wo:W…:dispatch:crew07", "channel": "sms", "recipient": "13800000000",
///  "subject": "…", "body": "…", "data": {…} | null, "attempt": 1, "created_at": "2026-10-09T09:30:00+08:00"}
/// ```
///
/// with the headers `Idempotency-Key: <key>` (so a receiver can drop the rare second delivery after
/// a lost acknowledgement) and `Authorization: Bearer <token>` when a token is configured. Any 2xx
/// answer is success.
pub struct Webhook {
    url: String,
    token: Option<String>,
    client: reqwest::Client,
}

impl Webhook {
    /// A webhook to `url` (http://HOST[:PORT]/PATH); `timeout` bounds each request.
    pub fn new(url: &str, token: Option<String>, timeout: Duration) -> Result<Webhook, FieldError> {
        let parsed = reqwest::Url::parse(url).map_err(|e| {
            FieldError::invalid(
                "webhook_url",
                format!("网址“{url}”无效：{e}"),
                format!("URL '{url}' is invalid: {e}"),
            )
        })?;
        match parsed.scheme() {
            "http" => {}
            "https" => {
                return Err(FieldError::invalid(
                    "webhook_url",
                    format!("本程序未带TLS，不能发送到 {url}；请用内网 http:// 地址或经本机反向代理转发"),
                    format!(
                    "this build has no TLS and cannot post to {url}; use an http:// address on the internal \
                         network or a local forwarding proxy"
                ),
                ))
            }
            other => {
                return Err(FieldError::invalid(
                    "webhook_url",
                    format!("不支持的协议“{other}”，应为 http://"),
                    format!("unsupported scheme '{other}'; use http://"),
                ))
            }
        }
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .user_agent(concat!("bureau/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| {
                FieldError::invalid("webhook_url", format!("HTTP客户端：{e}"), format!("HTTP client: {e}"))
            })?;
        Ok(Webhook { url: url.to_string(), token, client })
    }

    pub fn url(&self) -> &str {
        &self.url
    }
}

#[async_trait::async_trait]
impl Adapter for Webhook {
    async fn deliver(&self, m: &OutboxMessage) -> Result<(), DeliveryError> {
        let data: Option<serde_json::Value> = m.data.as_deref().and_then(|d| serde_json::from_str(d).ok());
        let created = jiff::Timestamp::from_second(m.created_at)
            .map(bureau_domain::calendar::beijing::format_rfc3339)
            .unwrap_or_default();
        let body = serde_json::json!({
            "id": m.id,
            "key": m.key,
            "channel": m.channel,
            "recipient": m.recipient,
            "subject": m.subject,
            "body": m.body,
            "data": data,
            "attempt": m.attempts,
            "created_at": created,
        });
        let mut req = self.client.post(&self.url).header("Idempotency-Key", &m.key).json(&body);
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.map_err(|e| {
            DeliveryError::retry(if e.is_timeout() {
                format!("POST {}: timed out", self.url)
            } else {
                format!("POST {}: {e}", self.url)
            })
        })?;
        let status = resp.status();
        if status.is_success() {
            return Ok(());
        }
        let text = resp.text().await.unwrap_or_default();
        let text: String = text.split_whitespace().collect::<Vec<_>>().join(" ").chars().take(300).collect();
        let message = format!("POST {}: HTTP {status} {text}", self.url);
        if status.is_server_error() || status.as_u16() == 408 || status.as_u16() == 429 {
            Err(DeliveryError::retry(message))
        } else {
            Err(DeliveryError::permanent(message))
        }
    }
}
