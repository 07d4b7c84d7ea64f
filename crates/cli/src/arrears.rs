//! `bureau arrears ...`: the daily arrears pass (催费/停电/复电), the open cases and orders, a crew's
//! report of an order done; `bureau collection ...`: the fee-collection reports as CSV.

use crate::{app_failure, Failure};
use bureau_app::access::Actor;
use bureau_app::arrears;
use bureau_app::collection::{self, GroupBy};
use bureau_domain::arrears::ArrearsRules;
use bureau_domain::calendar::beijing;
use bureau_domain::error::FieldError;
use bureau_domain::i18n::Lang;
use bureau_store::DynStore;
use clap::Subcommand;
use std::io::Write;
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum ArrearsCmd {
    /// The daily pass: opens cases from the ledger, sends reminders and notices through the outbox,
    /// issues disconnection and reconnection orders. Running it twice a day issues nothing twice.
    Run {
        /// Run as of 08:00 Beijing on this day (YYYY-MM-DD); default: now.
        #[arg(long)]
        on: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// The open cases with their next step and deadline, and the orders with their deadlines.
    Cases {
        #[arg(long)]
        json: bool,
    },
    /// A crew reports an order carried out: `disconnect` or `reconnect`.
    Done {
        customer_id: String,
        order: String,
        /// When (RFC 3339); default: now.
        #[arg(long)]
        at: Option<String>,
    },
}

#[derive(Subcommand)]
pub enum CollectionCmd {
    /// The collection rate (电费回收率) as CSV: by month, department or book.
    Rates {
        /// First month, YYYY-MM.
        #[arg(long)]
        from: String,
        /// Last month, YYYY-MM (default: --from).
        #[arg(long)]
        to: Option<String>,
        /// month, department or book.
        #[arg(long, default_value = "month")]
        by: String,
    },
    /// Aged receivables (账龄) at the end of a day, as CSV.
    Aging {
        #[arg(long)]
        on: String,
    },
    /// The customers in arrears at the end of a day, as CSV.
    InArrears {
        #[arg(long)]
        on: String,
    },
}

fn day(field: &str, text: &str) -> Result<jiff::civil::Date, FieldError> {
    text.trim().parse().map_err(|_| {
        FieldError::invalid(
            field,
            format!("日期“{text}”无效，应为 YYYY-MM-DD"),
            format!("'{text}' is not a date (YYYY-MM-DD)"),
        )
    })
}

/// Prints a line; a closed pipe (`| head`) ends the output quietly instead of panicking.
macro_rules! say {
    ($($arg:tt)*) => {{
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

fn input(e: FieldError, lang: Lang) -> Failure {
    Failure::Input(format!("{}: {}", e.field, e.message(lang)))
}

pub async fn arrears(store: DynStore, cmd: ArrearsCmd, lang: Lang) -> Result<ExitCode, Failure> {
    let actor = Actor::system();
    let rules = ArrearsRules::builtin();
    let fail = |e| app_failure(e, lang);
    match cmd {
        ArrearsCmd::Run { on, json } => {
            let now = match on.as_deref() {
                Some(d) => arrears::pass_instant(day("on", d).map_err(|e| input(e, lang))?),
                None => jiff::Timestamp::now(),
            };
            let r = arrears::run_pass(&store, &actor, rules, now).await.map_err(fail)?;
            if json {
                say!("{}", serde_json::to_string_pretty(&r).unwrap_or_default());
            } else {
                for t in &r.taken {
                    let at = beijing::format_rfc3339(jiff::Timestamp::from_second(t.at).unwrap_or_default());
                    say!("{} #{} {} {at}", t.customer_id, t.case_no, t.step);
                }
                if lang == Lang::Zh {
                    say!(
                        "欠费客户 {} 户：新开案例 {}，办理步骤 {}，结案 {}",
                        r.customers,
                        r.opened,
                        r.taken.len(),
                        r.closed
                    );
                } else {
                    say!(
                        "{} customers: {} cases opened, {} steps taken, {} closed",
                        r.customers,
                        r.opened,
                        r.taken.len(),
                        r.closed
                    );
                }
            }
        }
        ArrearsCmd::Cases { json } => {
            let (cases, orders) =
                arrears::cases(&store, &actor, jiff::Timestamp::now()).await.map_err(fail)?;
            if json {
                let v = serde_json::json!({"cases": cases, "orders": orders});
                say!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
            } else {
                for c in &cases {
                    let next = if lang == Lang::Zh { &c.next_step_zh } else { &c.next_step_en };
                    say!(
                        "{} #{} {} {} → {} {}",
                        c.customer_id,
                        c.case_no,
                        c.arrears,
                        c.oldest_due,
                        next,
                        c.deadline.as_deref().or(c.next_at.as_deref()).unwrap_or("")
                    );
                }
                for o in &orders {
                    say!(
                        "{} {} due {} done {}",
                        o.order,
                        o.customer_id,
                        o.due_at.as_deref().unwrap_or(""),
                        o.done_at.as_deref().unwrap_or("-")
                    );
                }
            }
        }
        ArrearsCmd::Done { customer_id, order, at } => {
            let at = match at.as_deref() {
                Some(t) => beijing::parse_rfc3339("at", t).map_err(|e| input(e, lang))?,
                None => jiff::Timestamp::now(),
            };
            let c = arrears::complete_order(&store, &actor, rules, &customer_id, &order, at)
                .await
                .map_err(fail)?;
            say!("{} #{} {}", c.customer_id, c.case_no, c.next_step);
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn collection(store: DynStore, cmd: CollectionCmd, lang: Lang) -> Result<ExitCode, Failure> {
    let actor = Actor::system();
    let fail = |e| app_failure(e, lang);
    let mut out = Vec::new();
    let io = |e: std::io::Error| Failure::Other(e.into());
    match cmd {
        CollectionCmd::Rates { from, to, by } => {
            let (f, t) = collection::parse_months(&from, to.as_deref())
                .map_err(|e| fail(bureau_app::AppError::Invalid(e)))?;
            let by = GroupBy::parse(Some(&by)).map_err(|e| input(e, lang))?;
            let r = collection::collection_rates(&store, &actor, f, t, by, collection::default_cut_off(t))
                .await
                .map_err(fail)?;
            collection::rates_csv(&r, &mut out).map_err(io)?;
        }
        CollectionCmd::Aging { on } => {
            let on = day("on", &on).map_err(|e| input(e, lang))?;
            let r = collection::aged_receivables(&store, &actor, on).await.map_err(fail)?;
            collection::aging_csv(&r, &mut out).map_err(io)?;
        }
        CollectionCmd::InArrears { on } => {
            let on = day("on", &on).map_err(|e| input(e, lang))?;
            let r = collection::customers_in_arrears(&store, &actor, on).await.map_err(fail)?;
            collection::arrears_csv(&r, &mut out).map_err(io)?;
        }
    }
    std::io::stdout().write_all(&out).map_err(io)?;
    Ok(ExitCode::SUCCESS)
}
