//! `bureau`: runs a power supply bureau (供电局).
//!
//! Exit codes: 0 done; 1 failed (database unreachable, I/O); 2 bad input (the message names the field);
//! 3 an import kept its good rows but rejected some (each is listed).

use anyhow::Context;
use bureau_app::access::Actor;
use bureau_app::AppError;
use bureau_domain::i18n::Lang;
use clap::{Parser, Subcommand};
use std::io::Write;
use std::process::ExitCode;

/// mimalloc instead of the C library's allocator: a bank file spent a fifth of its CPU in glibc's
/// malloc and free (ledger rows decoded on a reader thread are freed on the calling one, which
/// glibc's per-thread arenas handle badly; docs/performance.md, issue 4).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod arrears;
mod bank;
mod bill;
mod grid;
mod payments;
mod portal;
mod service;

#[derive(Parser)]
#[command(
    name = "bureau",
    version,
    about = "Bureau: customers, meters, bills, 95598 service and the grid of a power supply bureau"
)]
struct Cli {
    /// The database: sqlite://PATH (embedded, created if absent) or postgres://USER@HOST/DB.
    #[arg(long, global = true, env = "BUREAU_DB", default_value = bureau_app::db::DEFAULT_URL)]
    db: String,
    /// Language of messages: zh or en (default: from LANG, else zh).
    #[arg(long, global = true, env = "BUREAU_LANG")]
    lang: Option<String>,
    /// A late-fee parameter file (电费违约金, the format of data/late-fees/late-fees.toml) to use
    /// instead of the built-in one; checked when the program starts.
    #[arg(long, global = true, env = "BUREAU_LATE_FEE_RULES", value_name = "FILE")]
    late_fee_rules: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Creates (if absent) and fills a demo county like the reference bureau, then serves it.
    Demo {
        #[arg(long, default_value_t = 2026)]
        seed: u64,
        #[arg(long, default_value_t = bureau_app::demo::DEFAULT_CUSTOMERS)]
        customers: u64,
        /// The last month of readings (YYYY-MM); default: the last complete month.
        #[arg(long)]
        through: Option<String>,
        /// Months of readings before it.
        #[arg(long, default_value_t = 12)]
        months: u32,
        /// Only generate; do not serve.
        #[arg(long)]
        no_serve: bool,
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: String,
    },
    /// Serves the web pages and the JSON API, and runs the daily arrears pass.
    Serve {
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: String,
        /// When the daily arrears pass (催费/停电/复电) runs, HH:MM Beijing time, or `off`. A server
        /// started later in the day runs the day's pass at once if it has not run yet.
        #[arg(long, env = "BUREAU_ARREARS_PASS_AT", default_value = "08:00", value_name = "HH:MM")]
        arrears_pass_at: String,
    },
    /// Brings the database to the current schema.
    Migrate,
    /// Imports a CSV file (UTF-8, header row): org, staff, books, customers, meters, contracts.
    Import {
        kind: String,
        /// The file; `-` reads standard input.
        file: String,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Writes CSV to standard output: customers, books.
    Export { kind: String },
    /// The grid model: import and export (CSV folder, CIM RDF/XML).
    #[command(subcommand)]
    Grid(grid::GridCmd),
    /// Reliability prediction (RELRAD) on a grid model.
    #[command(subcommand)]
    Reliability(grid::ReliabilityCmd),
    /// The notification outbox: deliver due messages once, list the record.
    Outbox {
        #[command(subcommand)]
        cmd: service::OutboxCmd,
    },
    /// Billing: the bill run, bill quotes (电费试算), reading imports, exceptions, bills.
    Bill {
        #[command(subcommand)]
        cmd: Box<bill::BillCommand>,
    },
    /// Benchmarks: `bench bill-run`, `bench bank-batch`.
    Bench {
        #[command(subcommand)]
        cmd: bill::BenchCommand,
    },
    /// Bank batch files (银行批量代扣/代收): post a file, list the batches posted.
    #[command(subcommand)]
    Bank(bank::BankCmd),
    /// The customer ledger (客户电费账): settled marks.
    #[command(subcommand)]
    Ledger(payments::LedgerCmd),
    /// Late fees (电费违约金): the trial calculation.
    LateFee {
        #[command(subcommand)]
        cmd: payments::LateFeeCmd,
    },
    /// The customer portal: passwords, SMS/IVR gateways, load-test sessions.
    Portal {
        #[command(subcommand)]
        cmd: portal::PortalCommand,
    },
    /// 95598 service levels: the deadlines of an order.
    #[command(subcommand)]
    Sla(service::SlaCmd),
    /// The arrears workflow (催费/停电/复电): the daily pass, cases, orders done.
    #[command(subcommand)]
    Arrears(arrears::ArrearsCmd),
    /// Fee-collection reports (电费回收) as CSV: rates, aging, customers in arrears.
    #[command(subcommand)]
    Collection(arrears::CollectionCmd),
}

fn lang_of(flag: Option<&str>) -> Lang {
    if let Some(l) = flag.and_then(Lang::parse) {
        return l;
    }
    match std::env::var("LANG") {
        Ok(l) if l.starts_with("en") => Lang::En,
        _ => Lang::Zh,
    }
}

/// A failure to report: bad input (exit 2) or anything else (exit 1).
pub(crate) enum Failure {
    Input(String),
    Other(anyhow::Error),
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        Failure::Other(e)
    }
}

pub(crate) fn app_failure(e: AppError, lang: Lang) -> Failure {
    match e {
        AppError::Invalid(errors) => Failure::Input(
            errors.iter().map(|f| format!("{}: {}", f.field, f.message(lang))).collect::<Vec<_>>().join("\n"),
        ),
        AppError::Conflict(f) => Failure::Input(format!("{}: {}", f.field, f.message(lang))),
        other => Failure::Other(anyhow::anyhow!(other.to_string())),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("BUREAU_LOG").unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let lang = lang_of(cli.lang.as_deref());
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    match runtime.block_on(run(cli, lang)) {
        Ok(code) => code,
        Err(Failure::Input(msg)) => {
            eprintln!("{msg}");
            ExitCode::from(2)
        }
        Err(Failure::Other(e)) => {
            eprintln!("{}: {e:#}", if lang == Lang::Zh { "错误" } else { "error" });
            ExitCode::from(1)
        }
    }
}

pub(crate) async fn open(url: &str) -> Result<bureau_store::DynStore, Failure> {
    bureau_app::db::open_migrated(url).await.with_context(|| format!("opening {url}")).map_err(Failure::Other)
}

/// Puts the operator's late-fee file in force for the whole run, or stops with the file, the field
/// and the reason (exit 2) before anything else is done.
fn load_late_fee_rules(path: Option<&str>, lang: Lang) -> Result<(), Failure> {
    let Some(path) = path.filter(|p| !p.trim().is_empty()) else { return Ok(()) };
    let rules = payments::late_fee_rules(Some(path), lang)?;
    bureau_app::payments::use_late_fee_rules(rules);
    tracing::info!(file = path, "late-fee rules in force");
    Ok(())
}

async fn run(cli: Cli, lang: Lang) -> Result<ExitCode, Failure> {
    load_late_fee_rules(cli.late_fee_rules.as_deref(), lang)?;
    match cli.command {
        Command::Grid(cmd) => grid::grid(cmd, &cli.db, lang).await,
        Command::Reliability(cmd) => grid::reliability(cmd, lang),
        Command::Migrate => {
            let store = open(&cli.db).await?;
            println!(
                "{} ({}) {}",
                cli.db,
                store.backend(),
                if lang == Lang::Zh { "已是最新结构" } else { "is at the current schema" }
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve { listen, arrears_pass_at } => {
            let schedule =
                bureau_app::arrears::schedule::DailyPass::parse("arrears_pass_at", &arrears_pass_at)
                    .map_err(|e| Failure::Input(format!("{}: {}", e.field, e.message(lang))))?;
            let store = open(&cli.db).await?;
            serve(store, &listen, schedule).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Demo { seed, customers, through, months, no_serve, listen } => {
            let store = open(&cli.db).await?;
            let mut opts = bureau_app::demo::DemoOptions::new(jiff::Zoned::now().date());
            opts.seed = seed;
            opts.customers = customers;
            opts.months = months.max(1);
            opts.progress = true;
            if let Some(t) = through {
                let (y, m) = parse_month(&t).ok_or_else(|| {
                    Failure::Input(format!(
                        "through: {}",
                        if lang == Lang::Zh { "月份应为YYYY-MM" } else { "a month is written YYYY-MM" }
                    ))
                })?;
                opts.through_year = y;
                opts.through_month = m;
            }
            let started = std::time::Instant::now();
            let s = bureau_app::demo::generate(&store, &opts).await.map_err(|e| app_failure(e, lang))?;
            let secs = started.elapsed().as_secs_f64();
            println!(
                "demo county ready in {secs:.1} s: {} customers ({} residential, {} non-residential, {} agricultural, {} large), \
                 {} transformers on {} feeders, {} staff, {} readings, {:.1} GWh over {} months; \
                 register {:.1} s ({:.0} customers/s), history {:.1} s; peak memory {} MiB{}",
                s.customers, s.residential, s.non_residential, s.agricultural, s.large, s.transformers, s.feeders, s.staff,
                s.readings, s.kwh as f64 / 1e6, opts.months, s.register_seconds,
                s.customers as f64 / s.register_seconds.max(1e-9), s.history_seconds, peak_memory_mib(),
                if s.chunks_skipped > 0 { format!("; {} chunks were already written", s.chunks_skipped) } else { String::new() }
            );
            if !no_serve {
                println!(
                    "\n{}:",
                    if lang == Lang::Zh {
                        "演示账号（密码均为 demo2026）"
                    } else {
                        "Demo logins (password demo2026 for all)"
                    }
                );
                for (login, role) in bureau_app::demo::DEMO_LOGINS {
                    println!("  {login:<12} {role}");
                }
                println!("\n  http://{listen}/\n");
                serve(store, &listen, Some(Default::default())).await?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Import { kind, file, json } => {
            let Some(k) = bureau_app::register::ImportKind::parse(&kind) else {
                return Err(Failure::Input(format!(
                    "kind: unknown '{kind}'; use org, staff, books, customers, meters or contracts"
                )));
            };
            let store = open(&cli.db).await?;
            let input: Box<dyn std::io::Read> = if file == "-" {
                Box::new(std::io::stdin().lock())
            } else {
                Box::new(std::fs::File::open(&file).with_context(|| format!("opening {file}"))?)
            };
            let input = std::io::BufReader::new(input);
            let report = bureau_app::register::import(&store, &Actor::system(), k, input)
                .await
                .map_err(|e| app_failure(e, lang))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report).context("report as JSON")?);
            } else {
                for r in &report.rejected {
                    eprintln!("{file}:{}: {}: {}", r.line, r.field, r.message.get(lang));
                }
                println!(
                    "{} rows: {} written, {} unchanged, {} rejected",
                    report.rows,
                    report.written,
                    report.unchanged,
                    report.rejected.len()
                );
            }
            Ok(if report.rejected.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(3) })
        }
        Command::Sla(cmd) => service::sla(cmd, lang),
        Command::Arrears(cmd) => arrears::arrears(open(&cli.db).await?, cmd, lang).await,
        Command::Collection(cmd) => arrears::collection(open(&cli.db).await?, cmd, lang).await,
        Command::Outbox { cmd } => service::outbox(open(&cli.db).await?, cmd, lang).await,
        Command::Bill { cmd } => bill::bill(&cli.db, *cmd, lang).await,
        Command::LateFee { cmd } => payments::late_fee(cmd, lang).await,
        Command::Ledger(cmd) => payments::ledger(open(&cli.db).await?, cmd, lang).await,
        Command::Bank(cmd) => bank::bank(&cli.db, cmd, lang).await,
        Command::Bench { cmd } => bill::bench(&cli.db, cmd, lang).await,
        Command::Portal { cmd } => portal::portal(&cli.db, cmd, lang).await,
        Command::Export { kind } => {
            let Some(k) = bureau_app::register::ExportKind::parse(&kind) else {
                return Err(Failure::Input(format!("kind: unknown '{kind}'; use customers or books")));
            };
            let store = open(&cli.db).await?;
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            bureau_app::register::export(&store, &Actor::system(), k, &mut out)
                .await
                .map_err(|e| app_failure(e, lang))?;
            out.flush().context("writing to standard output")?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn parse_month(s: &str) -> Option<(i16, i8)> {
    let (y, m) = s.split_once('-')?;
    let (y, m): (i16, i8) = (y.parse().ok()?, m.parse().ok()?);
    ((1..=12).contains(&m) && (2000..=2100).contains(&y)).then_some((y, m))
}

async fn serve(
    store: bureau_store::DynStore,
    listen: &str,
    arrears_pass: Option<bureau_app::arrears::schedule::DailyPass>,
) -> Result<(), Failure> {
    let listener =
        tokio::net::TcpListener::bind(listen).await.with_context(|| format!("listening on {listen}"))?;
    tracing::info!(address = %listener.local_addr().context("local address")?, database = store.backend(), "serving");
    let _outbox = service::start_outbox(&store)?;
    let _arrears = match arrears_pass {
        Some(at) => {
            tracing::info!(at = %at.at, "daily arrears pass scheduled (Beijing time)");
            let rules = bureau_domain::arrears::ArrearsRules::builtin();
            Some(AbortOnDrop(bureau_app::arrears::schedule::spawn(store.clone(), rules, at)))
        }
        None => {
            tracing::warn!("the daily arrears pass is off (--arrears-pass-at off)");
            None
        }
    };
    bureau_web::serve(store, listener).await.map_err(Failure::Other)
}

/// A background task that ends when the server does.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Peak resident memory of this process (VmHWM), for the generator's summary.
pub(crate) fn peak_memory_mib() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).map(|l| l.to_string()))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|kb| kb.parse::<u64>().ok()))
        .map_or_else(|| "?".into(), |kb| (kb / 1024).to_string())
}
