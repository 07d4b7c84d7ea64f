//! `bureau bill ...` and `bureau bench bill-run`: the bill run, the bill quote (电费试算), reading
//! imports, exceptions and a customer's bills.

use crate::{app_failure, open, peak_memory_mib, Failure};
use anyhow::Context;
use bureau_app::access::Actor;
use bureau_app::billing;
use bureau_domain::i18n::Lang;
use bureau_domain::tariff::{BillPeriod, QuoteRequest, TariffBook};
use clap::Subcommand;
use rust_decimal::Decimal;
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum BillCommand {
    /// Computes and issues the period's bills for every customer with a valid reading (idempotent,
    /// resumable: run it again after a failure or a kill).
    Run {
        /// The billing month, YYYY-MM.
        #[arg(long)]
        period: String,
        /// Only this reading book.
        #[arg(long)]
        book: Option<String>,
        /// Customers per chunk (one transaction each).
        #[arg(long, default_value_t = 5000)]
        chunk: u32,
        /// Estimate missing readings from the previous period and bill on them (供电营业规则 Art. 83).
        #[arg(long)]
        estimate_missing: bool,
        /// Tariff files to use instead of the builtin ones (a directory of *.toml).
        #[arg(long)]
        tariffs: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Bill trial calculation (电费试算) for a month's quantities.
    Quote {
        #[arg(long)]
        tariff: String,
        #[arg(long)]
        period: String,
        #[arg(long)]
        kwh: Decimal,
        #[arg(long)]
        critical_kwh: Option<Decimal>,
        #[arg(long)]
        peak_kwh: Option<Decimal>,
        #[arg(long)]
        flat_kwh: Option<Decimal>,
        #[arg(long)]
        valley_kwh: Option<Decimal>,
        #[arg(long)]
        capacity_kva: Option<Decimal>,
        #[arg(long)]
        max_demand_kw: Option<Decimal>,
        #[arg(long)]
        kvarh: Option<Decimal>,
        #[arg(long)]
        pf_standard: Option<Decimal>,
        /// kWh already billed this tier year (annual tiers).
        #[arg(long)]
        ytd_kwh: Option<Decimal>,
        #[arg(long)]
        tariffs: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Imports readings from CSV (manual books or AMI daily freezes); `-` reads standard input.
    Readings {
        file: String,
        #[arg(long)]
        json: bool,
    },
    /// Lists the open reading exceptions of a period.
    Exceptions {
        #[arg(long)]
        period: String,
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
    /// Resolves a customer's held reading for a period (异常处理): `--action confirm` (the reading
    /// is real), `correct --total N` (a corrected reading, kept beside the original) or `estimate`
    /// (from the previous period, 供电营业规则 Art. 83); then bills the customer for the period unless
    /// `--later` (the next bill run does).
    Resolve {
        customer: String,
        #[arg(long)]
        period: String,
        #[arg(long)]
        action: String,
        #[arg(long)]
        reason: String,
        /// Which exception (kind code); default the latest of the period.
        #[arg(long)]
        kind: Option<String>,
        #[arg(long)]
        total: Option<String>,
        #[arg(long)]
        peak: Option<String>,
        #[arg(long)]
        flat: Option<String>,
        #[arg(long)]
        valley: Option<String>,
        /// The corrected reading's day when the exception names none (a missing reading).
        #[arg(long)]
        read_on: Option<String>,
        /// Leave the bill to the next bill run.
        #[arg(long)]
        later: bool,
        #[arg(long)]
        tariffs: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Reissues a period whose bill was cancelled without a rebill (作废后重新发行): the next
    /// revision from the readings as they are now, with the ledger adjustment of its total.
    Reissue {
        customer: String,
        #[arg(long)]
        period: String,
        #[arg(long)]
        reason: String,
        #[arg(long)]
        tariffs: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// The government-fund remittance report (政府性基金及附加) of the live bills of a month or a
    /// range of months: per fund and rate, per tariff, per month, and the reconciliation against
    /// the bills' own funds. CSV by default.
    Funds {
        /// The (first) billing month, YYYY-MM.
        #[arg(long)]
        period: String,
        /// The last billing month, YYYY-MM (default: --period).
        #[arg(long)]
        to: Option<String>,
        /// The tariff files the bills were run with (a directory of *.toml; default the builtin).
        #[arg(long)]
        tariffs: Option<String>,
        /// The whole report as JSON instead of CSV.
        #[arg(long)]
        json: bool,
    },
    /// Prints a customer's bills (all revisions) as JSON.
    Show {
        customer: String,
        #[arg(long, default_value_t = 12)]
        limit: u32,
    },
}

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Times a full bill run of the database's customers for a period and prints bills/s and peak
    /// memory (generate the customers first: `bureau demo --no-serve --customers N --months 2`).
    BillRun {
        #[arg(long)]
        period: String,
        #[arg(long, default_value_t = 5000)]
        chunk: u32,
    },
    /// Writes a bank batch file of N payments to customers picked at random over the register and
    /// posts it as `bureau bank post` does; prints payments/s and peak memory.
    BankBatch {
        #[arg(long, default_value_t = 100_000)]
        lines: u64,
        #[arg(long, default_value = "BENCH")]
        bank: String,
        /// Lines per transaction.
        #[arg(long, default_value_t = bureau_app::payments::DEFAULT_CHUNK)]
        chunk: usize,
        #[arg(long, default_value_t = 2026)]
        seed: u64,
    },
}

fn period_of(text: &str, lang: Lang) -> Result<BillPeriod, Failure> {
    BillPeriod::parse("period", text).map_err(|e| Failure::Input(format!("period: {}", e.message(lang))))
}

fn tariff_book(dir: Option<&str>, lang: Lang) -> Result<TariffBook, Failure> {
    match dir {
        None => Ok(TariffBook::builtin()),
        Some(d) => TariffBook::load_dir(d).map_err(|e| Failure::Input(e.message(lang))),
    }
}

fn today() -> jiff::civil::Date {
    jiff::Zoned::now().date()
}

fn bar(len: u64) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(len);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "billing [{bar:40}] {pos}/{len} customers ({per_sec}, eta {eta})",
        )
        .expect("static template")
        .progress_chars("=> "),
    );
    bar
}

fn yuan(f: bureau_domain::money::Fen) -> String {
    f.to_string()
}

pub async fn bill(db: &str, cmd: BillCommand, lang: Lang) -> Result<ExitCode, Failure> {
    let zh = lang == Lang::Zh;
    match cmd {
        BillCommand::Run { period, book, chunk, estimate_missing, tariffs, json } => {
            let p = period_of(&period, lang)?;
            let tariffs = tariff_book(tariffs.as_deref(), lang)?;
            let store = open(db).await?;
            let mut opts = billing::RunOptions::new(p, today());
            opts.book_id = book;
            opts.chunk = chunk.clamp(1, 100_000);
            opts.estimate_missing = estimate_missing;
            let total =
                store.count_customers(&bureau_store::Scope::All).await.context("counting customers")?;
            let pb = if json { indicatif::ProgressBar::hidden() } else { bar(total) };
            let started = std::time::Instant::now();
            let pb2 = pb.clone();
            let s = billing::run(&store, &Actor::system(), &tariffs, &opts, &move |n| pb2.inc(n))
                .await
                .map_err(|e| app_failure(e, lang))?;
            pb.finish_and_clear();
            let secs = started.elapsed().as_secs_f64();
            if json {
                println!("{}", serde_json::to_string_pretty(&s).context("summary as JSON")?);
            } else if zh {
                println!(
                    "{}：本次出账 {} 张，{} kWh，金额 {} 元，新增异常 {} 条，估抄 {} 户；本期合计 {} 张 {} kWh {} 元，待处理异常 {} 户；用时 {secs:.1} 秒（{:.0} 张/秒）",
                    s.period, s.bills, s.kwh.normalize(), yuan(s.total), s.exceptions, s.estimates,
                    s.period_totals.bills, s.period_totals.kwh.normalize(), yuan(s.period_totals.total),
                    s.period_totals.open_exceptions, s.bills as f64 / secs.max(1e-9)
                );
            } else {
                println!(
                    "{}: issued {} bills, {} kWh, {} yuan, {} new exceptions, {} estimated; period now {} bills, {} kWh, {} yuan, {} customers with open exceptions; {secs:.1} s ({:.0} bills/s)",
                    s.period, s.bills, s.kwh.normalize(), yuan(s.total), s.exceptions, s.estimates,
                    s.period_totals.bills, s.period_totals.kwh.normalize(), yuan(s.period_totals.total),
                    s.period_totals.open_exceptions, s.bills as f64 / secs.max(1e-9)
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        BillCommand::Quote {
            tariff,
            period,
            kwh,
            critical_kwh,
            peak_kwh,
            flat_kwh,
            valley_kwh,
            capacity_kva,
            max_demand_kw,
            kvarh,
            pf_standard,
            ytd_kwh,
            tariffs,
            json,
        } => {
            let book = tariff_book(tariffs.as_deref(), lang)?;
            let req = QuoteRequest {
                tariff,
                period,
                kwh,
                critical_kwh,
                peak_kwh,
                flat_kwh,
                valley_kwh,
                capacity_kva,
                max_demand_kw,
                kvarh,
                pf_standard,
                ytd_kwh,
            };
            let q = billing::quote(&book, &req, lang).map_err(|e| app_failure(e, lang))?;
            if json {
                println!("{}", serde_json::to_string(&q).context("quote as JSON")?);
            } else {
                println!("{} {}", q.tariff, q.period);
                for l in &q.lines {
                    println!(
                        "  {:<40} {:>14} × {:<10} = {:>12}",
                        l.description, l.quantity, l.unit_price, l.amount
                    );
                }
                println!("  {:<40} {:>42}", if zh { "合计" } else { "Total" }, q.total);
            }
            Ok(ExitCode::SUCCESS)
        }
        BillCommand::Readings { file, json } => {
            let store = open(db).await?;
            let input: Box<dyn std::io::Read> = if file == "-" {
                Box::new(std::io::stdin().lock())
            } else {
                Box::new(std::fs::File::open(&file).with_context(|| format!("opening {file}"))?)
            };
            let report =
                billing::readings::import_readings(&store, &Actor::system(), std::io::BufReader::new(input))
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
        BillCommand::Exceptions { period, limit } => {
            period_of(&period, lang)?;
            let store = open(db).await?;
            let list = billing::exceptions(&store, &Actor::system(), &period, None, limit)
                .await
                .map_err(|e| app_failure(e, lang))?;
            for e in &list {
                println!(
                    "{}\t{}\t{}\t{}",
                    e.customer_id,
                    e.kind.code(),
                    e.kind.name(lang),
                    e.detail.get(lang)
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        BillCommand::Resolve {
            customer,
            period,
            action,
            reason,
            kind,
            total,
            peak,
            flat,
            valley,
            read_on,
            later,
            tariffs,
            json,
        } => {
            period_of(&period, lang)?;
            let tariffs = tariff_book(tariffs.as_deref(), lang)?;
            let store = open(db).await?;
            let draft = billing::exceptions::ResolveDraft {
                action,
                kind,
                reason,
                total,
                peak,
                flat,
                valley,
                read_on,
                bill_now: !later,
                ..Default::default()
            };
            let r = billing::exceptions::resolve(
                &store,
                &Actor::system(),
                &tariffs,
                &customer,
                &period,
                &draft,
                today(),
            )
            .await
            .map_err(|e| app_failure(e, lang))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&r).context("resolution as JSON")?);
            } else {
                let how = r.resolution.action.name(lang);
                match (&r.bill, zh) {
                    (Some(b), true) => println!(
                        "{customer} {period}：{how}，已出账 {} kWh，{} 元",
                        b.kwh.normalize(),
                        yuan(b.total)
                    ),
                    (Some(b), false) => println!(
                        "{customer} {period}: {how}; billed {} kWh, {} yuan",
                        b.kwh.normalize(),
                        yuan(b.total)
                    ),
                    (None, true) => println!("{customer} {period}：{how}，待下次出账"),
                    (None, false) => println!("{customer} {period}: {how}; the next bill run bills it"),
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        BillCommand::Reissue { customer, period, reason, tariffs, json } => {
            period_of(&period, lang)?;
            let tariffs = tariff_book(tariffs.as_deref(), lang)?;
            let store = open(db).await?;
            let b =
                billing::reissue(&store, &Actor::system(), &tariffs, &customer, &period, &reason, today())
                    .await
                    .map_err(|e| app_failure(e, lang))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&b).context("bill as JSON")?);
            } else if zh {
                println!(
                    "{customer} {period}：已重新发行第 {} 版，{} kWh，{} 元",
                    b.revision,
                    b.kwh.normalize(),
                    yuan(b.total)
                );
            } else {
                println!(
                    "{customer} {period}: reissued as revision {}, {} kWh, {} yuan",
                    b.revision,
                    b.kwh.normalize(),
                    yuan(b.total)
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        BillCommand::Funds { period, to, tariffs, json } => {
            let (from, to) = bureau_app::remittance::parse_periods(&period, to.as_deref())
                .map_err(|e| app_failure(bureau_app::AppError::Invalid(e), lang))?;
            let book = tariff_book(tariffs.as_deref(), lang)?;
            let store = open(db).await?;
            let r = bureau_app::remittance::fund_remittance(&store, &Actor::system(), &book, from, to)
                .await
                .map_err(|e| app_failure(e, lang))?;
            let mut out = Vec::new();
            if json {
                serde_json::to_writer_pretty(&mut out, &r).context("report as JSON")?;
                out.push(b'\n');
            } else {
                bureau_app::remittance::remittance_csv(&r, &mut out).context("report as CSV")?;
            }
            use std::io::Write as _;
            // A closed pipe (`| head`) ends the output quietly.
            let _ = std::io::stdout().lock().write_all(&out);
            Ok(ExitCode::SUCCESS)
        }
        BillCommand::Show { customer, limit } => {
            let store = open(db).await?;
            let bills = billing::bills_of(&store, &Actor::system(), &customer, limit)
                .await
                .map_err(|e| app_failure(e, lang))?;
            println!("{}", serde_json::to_string_pretty(&bills).context("bills as JSON")?);
            Ok(ExitCode::SUCCESS)
        }
    }
}

pub async fn bench(db: &str, cmd: BenchCommand, lang: Lang) -> Result<ExitCode, Failure> {
    match cmd {
        BenchCommand::BillRun { period, chunk } => {
            let p = period_of(&period, lang)?;
            let store = open(db).await?;
            let mut opts = billing::RunOptions::new(p, today());
            opts.chunk = chunk.clamp(1, 100_000);
            let started = std::time::Instant::now();
            let s = billing::run(&store, &Actor::system(), &TariffBook::builtin(), &opts, &|_| {})
                .await
                .map_err(|e| app_failure(e, lang))?;
            let secs = started.elapsed().as_secs_f64();
            let figures = serde_json::json!({
                "backend": store.backend(),
                "period": s.period,
                "customers": s.customers,
                "bills": s.bills,
                "exceptions": s.exceptions,
                "seconds": (secs * 100.0).round() / 100.0,
                "bills_per_second": (s.bills as f64 / secs.max(1e-9)).round(),
                "peak_memory_mib": peak_memory_mib(),
                "load_seconds": (s.load_seconds * 100.0).round() / 100.0,
                "compute_seconds": (s.compute_seconds * 100.0).round() / 100.0,
                "write_seconds": (s.write_seconds * 100.0).round() / 100.0,
                "threads": opts.threads,
                "chunk": opts.chunk,
            });
            println!("{figures}");
            Ok(ExitCode::SUCCESS)
        }
        BenchCommand::BankBatch { lines, bank, chunk, seed } => {
            crate::bank::bench(db, lines, &bank, chunk, seed, lang).await
        }
    }
}
