//! Payments from the command line: the late-fee trial calculation (违约金试算) and the bank batch
//! file (代扣/代收).

use crate::{app_failure, Failure};
use anyhow::Context;
use bureau_app::payments;
use bureau_domain::i18n::Lang;
use bureau_domain::late_fee::LateFeeRules;
use clap::Subcommand;
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum LateFeeCmd {
    /// The late fee on arrears due on one day and paid on another (供电营业规则 Art. 98).
    Quote {
        /// residential or other.
        #[arg(long)]
        class: String,
        /// The due date, YYYY-MM-DD.
        #[arg(long)]
        due: String,
        /// The day of payment (or of the count), YYYY-MM-DD.
        #[arg(long)]
        on: String,
        /// The arrears in yuan, e.g. 100.00.
        #[arg(long)]
        arrears: String,
        /// A late-fee parameter file to use instead of the builtin one.
        #[arg(long)]
        rules: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

pub(crate) fn late_fee_rules(path: Option<&str>, lang: Lang) -> Result<LateFeeRules, Failure> {
    match path {
        None => Ok(payments::late_fee_rules().clone()),
        Some(p) => LateFeeRules::load_file(p)
            .map_err(|e| Failure::Input(format!("{}: {}: {}", e.file, e.field, e.message.get(lang)))),
    }
}

pub async fn late_fee(cmd: LateFeeCmd, lang: Lang) -> Result<ExitCode, Failure> {
    let zh = lang == Lang::Zh;
    match cmd {
        LateFeeCmd::Quote { class, due, on, arrears, rules, json } => {
            let rules = late_fee_rules(rules.as_deref(), lang)?;
            let q = payments::late_fee_quote(&rules, &class, &due, &on, &arrears)
                .map_err(|e| app_failure(e, lang))?;
            if json {
                println!("{}", serde_json::to_string(&q).context("quote as JSON")?);
            } else {
                for l in &q.quote.lines {
                    println!(
                        "  {} … {}  {:>4} {}  × {:>12} × {}‰ = {:>10}",
                        l.from,
                        l.to,
                        l.days,
                        if zh { "天" } else { "days" },
                        l.arrears,
                        l.rate_per_mille,
                        l.amount
                    );
                }
                if q.quote.minimum_applied {
                    println!("  {}", if zh { "不足1元按1元收取" } else { "under 1 yuan: charged 1 yuan" });
                }
                if zh {
                    println!("逾期 {} 天，违约金 {} 元", q.quote.days, q.quote.fee);
                } else {
                    println!("{} days overdue, late fee {} yuan", q.quote.days, q.quote.fee);
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

#[derive(Subcommand)]
pub enum LedgerCmd {
    /// Marks where each ledger's settled prefix ends (结清标记), so that a payment reads only the
    /// entries still open. Bank files keep the marks as they post; run this once on a database made
    /// before them (or after counter payments and bill runs, which do not set them). Idempotent.
    Settle {
        #[arg(long)]
        json: bool,
    },
}

pub async fn ledger(store: bureau_store::DynStore, cmd: LedgerCmd, lang: Lang) -> Result<ExitCode, Failure> {
    match cmd {
        LedgerCmd::Settle { json } => {
            let started = std::time::Instant::now();
            let s = payments::mark_settled_ledgers(&store, &bureau_app::access::Actor::system())
                .await
                .map_err(|e| app_failure(e, lang))?;
            let seconds = started.elapsed().as_secs_f64();
            if json {
                let mut v = serde_json::to_value(&s).context("summary as JSON")?;
                v["seconds"] = serde_json::json!((seconds * 100.0).round() / 100.0);
                println!("{v}");
            } else if lang == Lang::Zh {
                println!(
                    "读取 {} 户电费账，标记 {} 户，{} 条已结清分录不再读取（{seconds:.1} 秒）",
                    s.ledgers, s.marked, s.settled_entries
                );
            } else {
                println!(
                    "{} ledgers read, {} marked, {} settled entries no longer read ({seconds:.1} s)",
                    s.ledgers, s.marked, s.settled_entries
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
