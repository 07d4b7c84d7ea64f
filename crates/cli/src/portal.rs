//! `bureau portal`: customer portal passwords, SMS/IVR gateways, and sessions for load tests.

use crate::{app_failure, open, Failure};
use anyhow::Context;
use bureau_app::access::Actor;
use bureau_domain::i18n::Lang;
use clap::Subcommand;
use std::io::Write;
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum PortalCommand {
    /// Sets a customer's portal password (read from the BUREAU_PORTAL_PASSWORD environment
    /// variable, so that it stays out of the shell history).
    Password {
        #[arg(long)]
        customer: String,
    },
    /// Registers an SMS/IVR gateway for the plain-text bill query and prints its token (shown once).
    Gateway {
        #[arg(long)]
        bureau: String,
        #[arg(long)]
        name: String,
    },
    /// Opens `count` customer sessions spread over the register and writes one token per line to
    /// `out` (for `wrk -s bench/portal.lua`).
    BenchSessions {
        #[arg(long, default_value_t = 10_000)]
        count: u32,
        #[arg(long)]
        out: String,
    },
}

pub async fn portal(db: &str, cmd: PortalCommand, lang: Lang) -> Result<ExitCode, Failure> {
    let store = open(db).await?;
    match cmd {
        PortalCommand::Password { customer } => {
            let pw = std::env::var("BUREAU_PORTAL_PASSWORD").unwrap_or_default();
            bureau_app::portal::set_password_by_staff(&store, &Actor::system(), &customer, &pw)
                .await
                .map_err(|e| app_failure(e, lang))?;
            println!("{customer}");
        }
        PortalCommand::Gateway { bureau, name } => {
            let (g, token) =
                bureau_app::portal::query::create_gateway(&store, &Actor::system(), &bureau, &name)
                    .await
                    .map_err(|e| app_failure(e, lang))?;
            println!(
                "{}",
                serde_json::json!({"id": g.id, "bureau_id": g.bureau_id, "name": g.name, "token": token})
            );
        }
        PortalCommand::BenchSessions { count, out } => {
            let started = std::time::Instant::now();
            let sessions = bureau_app::portal::login::bench_sessions(&store, count)
                .await
                .map_err(|e| app_failure(e, lang))?;
            let mut f = std::io::BufWriter::new(
                std::fs::File::create(&out).with_context(|| format!("creating {out}"))?,
            );
            for (_, token) in &sessions {
                writeln!(f, "{token}").with_context(|| format!("writing {out}"))?;
            }
            f.flush().with_context(|| format!("writing {out}"))?;
            eprintln!("{} sessions in {:.1} s -> {out}", sessions.len(), started.elapsed().as_secs_f64());
        }
    }
    Ok(ExitCode::SUCCESS)
}
