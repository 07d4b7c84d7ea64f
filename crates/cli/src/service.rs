//! `bureau outbox ...` and `bureau sla ...`: the notification outbox and the 95598 service levels.

use crate::Failure;
use anyhow::Context;
use bureau_app::outbox::{Outbox, OutboxConfig};
use bureau_domain::i18n::Lang;
use bureau_store::{DynStore, OutboxQuery, OutboxStatus};
use clap::Subcommand;
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum OutboxCmd {
    /// Delivers every message due now once (webhooks from BUREAU_WEBHOOK_URL[_<CHANNEL>]) and
    /// prints what happened.
    RunOnce {
        #[arg(long)]
        json: bool,
    },
    /// Lists messages, newest first.
    List {
        /// pending, sending, sent, dead or cancelled.
        #[arg(long)]
        status: Option<String>,
        /// Only keys starting with this.
        #[arg(long)]
        key: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: u32,
        #[arg(long)]
        json: bool,
    },
}

fn outbox_worker(store: &DynStore) -> Result<Outbox, Failure> {
    let cfg =
        OutboxConfig::from_env().map_err(|e| Failure::Input(format!("{}: {}", e.field, e.message.en)))?;
    Outbox::new(store.clone(), cfg).map_err(|e| Failure::Input(format!("{}: {}", e.field, e.message.en)))
}

/// Starts the delivery worker next to the server when a webhook is configured.
pub fn start_outbox(store: &DynStore) -> Result<Option<tokio::task::JoinHandle<()>>, Failure> {
    let worker = outbox_worker(store)?;
    if !worker.has_adapters() {
        tracing::warn!("no BUREAU_WEBHOOK_URL configured: notifications stay in the outbox until one is");
        return Ok(None);
    }
    Ok(Some(worker.spawn()))
}

pub async fn outbox(store: DynStore, cmd: OutboxCmd, lang: Lang) -> Result<ExitCode, Failure> {
    match cmd {
        OutboxCmd::RunOnce { json } => {
            let worker = outbox_worker(&store)?;
            if !worker.has_adapters() {
                return Err(Failure::Input(if lang == Lang::Zh {
                    "BUREAU_WEBHOOK_URL: 未配置通知网关地址".into()
                } else {
                    "BUREAU_WEBHOOK_URL: no notification webhook is configured".into()
                }));
            }
            let r = worker
                .run_once(bureau_app::auth::now_unix())
                .await
                .map_err(|e| Failure::Other(anyhow::anyhow!(e.to_string())))?;
            if json {
                println!("{}", serde_json::to_string(&r).context("report as JSON")?);
            } else {
                println!(
                    "{} claimed, {} sent, {} will retry, {} given up, {} lost to another worker",
                    r.claimed, r.sent, r.retrying, r.dead, r.lost
                );
            }
            Ok(if r.dead > 0 { ExitCode::from(1) } else { ExitCode::SUCCESS })
        }
        OutboxCmd::List { status, key, limit, json } => {
            let status = match status.as_deref() {
                None => None,
                Some(s) => Some(OutboxStatus::parse(s).ok_or_else(|| {
                    Failure::Input(format!(
                        "status: unknown '{s}'; use pending, sending, sent, dead or cancelled"
                    ))
                })?),
            };
            let q = OutboxQuery { status, key_prefix: key, recipient: None, limit };
            let rows = bureau_app::outbox::list(&store, &q)
                .await
                .map_err(|e| Failure::Other(anyhow::anyhow!(e.to_string())))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&rows).context("as JSON")?);
            } else {
                for m in rows {
                    println!(
                        "{}\t{}\t{}\t{}\tattempts {}/{}\t{}",
                        m.key,
                        m.status.code(),
                        m.channel,
                        m.recipient,
                        m.attempts,
                        m.max_attempts,
                        m.last_error.unwrap_or_default()
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

#[derive(Subcommand)]
pub enum SlaCmd {
    /// Each stage's due time for an order accepted at a given instant (RFC 3339, +08:00).
    Deadlines {
        /// fault_repair, complaint, report, opinion, consultation or service_request.
        #[arg(long)]
        kind: String,
        #[arg(long)]
        subtype: Option<String>,
        /// urban, rural or remote.
        #[arg(long)]
        area: Option<String>,
        /// phone, counter, portal, app, hotline12398 or hotline12345.
        #[arg(long)]
        channel: Option<String>,
        /// When the order was accepted, e.g. 2026-09-30T16:00:00+08:00.
        #[arg(long)]
        accepted: String,
        #[arg(long)]
        json: bool,
    },
}

pub fn sla(cmd: SlaCmd, lang: Lang) -> Result<ExitCode, Failure> {
    match cmd {
        SlaCmd::Deadlines { kind, subtype, area, channel, accepted, json } => {
            let s = bureau_app::service::deadlines(
                &kind,
                subtype.as_deref(),
                area.as_deref(),
                channel.as_deref(),
                &accepted,
            )
            .map_err(|e| crate::app_failure(e, lang))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&s).context("as JSON")?);
            } else {
                println!("{} ({})", s.rule_set_name.get(lang), s.rule_set);
                for d in &s.stages {
                    println!(
                        "{:<14} {}  {}",
                        d.stage.code(),
                        bureau_domain::calendar::beijing::format_rfc3339(d.due),
                        d.name.get(lang)
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
