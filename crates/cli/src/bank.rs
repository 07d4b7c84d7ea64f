//! Bank batch files from the command line (银行批量代扣/代收): post a file and write its result
//! file, list the batches posted, and the benchmark that posts a generated file.

use crate::{app_failure, open, peak_memory_mib, Failure};
use anyhow::Context;
use bureau_app::access::Actor;
use bureau_app::payments::{self, BankBatchInput, BankBatchSummary};
use bureau_domain::i18n::Lang;
use bureau_domain::ledger::bank_file::format_results;
use bureau_store::Scope;
use clap::Subcommand;
use std::io::Write;
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum BankCmd {
    /// Posts a bank batch file (代扣/代收 CSV) and writes the result file, one line per input line.
    /// Exit code 0: every line posted or a duplicate; 3: some lines rejected (see the result
    /// file); 2: the file cannot be read (bad header, not UTF-8).
    Post {
        /// The bank's file (UTF-8 CSV, see `bureau_domain::ledger::bank_file`).
        file: String,
        /// The bank's code, e.g. ICBC (part of every line's idempotency key).
        #[arg(long)]
        bank: String,
        /// Where to write the result file.
        #[arg(long)]
        out: String,
        /// Lines per transaction.
        #[arg(long, default_value_t = payments::DEFAULT_CHUNK)]
        chunk: usize,
        /// Print the summary as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Writes the result file of a batch posted before to stdout (as written when it was posted,
    /// in the language of `--lang`). Fails when there is no such batch, or no file was kept for it.
    Result {
        /// The batch id (`bureau bank batches`).
        id: String,
    },
    /// The batches posted, newest first.
    Batches {
        #[arg(long, default_value_t = 20)]
        limit: u32,
        #[arg(long)]
        json: bool,
    },
}

fn summary_line(s: &BankBatchSummary, lang: Lang) -> String {
    if lang == Lang::Zh {
        format!(
            "{} 行：入账 {} 笔，重复 {} 笔，拒绝 {} 笔，入账金额 {} 元（批次 {}）",
            s.lines, s.posted, s.duplicate, s.rejected, s.posted_amount, s.batch_id
        )
    } else {
        format!(
            "{} lines: {} posted, {} duplicate, {} rejected, {} yuan posted (batch {})",
            s.lines, s.posted, s.duplicate, s.rejected, s.posted_amount, s.batch_id
        )
    }
}

fn read_text(path: &str) -> Result<String, Failure> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {path}"))?;
    String::from_utf8(bytes).map_err(|e| {
        Failure::Input(format!(
            "{path}: file: not UTF-8 (byte {}) / 文件不是 UTF-8 编码",
            e.utf8_error().valid_up_to()
        ))
    })
}

pub async fn bank(db: &str, cmd: BankCmd, lang: Lang) -> Result<ExitCode, Failure> {
    match cmd {
        BankCmd::Post { file, bank, out, chunk, json } => {
            let text = read_text(&file)?;
            let store = open(db).await?;
            let name = std::path::Path::new(&file)
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into());
            let input = BankBatchInput { bank: &bank, file_name: &name, text: &text, chunk };
            let r = payments::post_bank_batch(&store, &Actor::system(), payments::late_fee_rules(), &input)
                .await
                .map_err(|e| match e {
                    bureau_app::AppError::Invalid(errors) => Failure::Input(
                        errors
                            .iter()
                            .map(|f| format!("{file}: {}: {}", f.field, f.message(lang)))
                            .collect::<Vec<_>>()
                            .join("\n"),
                    ),
                    other => app_failure(other, lang),
                })?;
            std::fs::write(&out, format_results(&r.results, lang))
                .with_context(|| format!("writing {out}"))?;
            if json {
                println!("{}", serde_json::to_string(&r.summary).context("summary as JSON")?);
            } else {
                println!("{}", summary_line(&r.summary, lang));
            }
            Ok(if r.summary.rejected == 0 { ExitCode::SUCCESS } else { ExitCode::from(3) })
        }
        BankCmd::Result { id } => {
            let store = open(db).await?;
            let csv = payments::bank_batch_result(&store, &Actor::system(), &id, lang)
                .await
                .map_err(|e| app_failure(e, lang))?;
            std::io::stdout().write_all(csv.as_bytes()).context("writing the result file")?;
            Ok(ExitCode::SUCCESS)
        }
        BankCmd::Batches { limit, json } => {
            let store = open(db).await?;
            let list = payments::bank_batches(&store, &Actor::system(), limit)
                .await
                .map_err(|e| app_failure(e, lang))?;
            if json {
                println!("{}", serde_json::to_string(&list).context("batches as JSON")?);
            } else {
                for b in &list {
                    println!(
                        "{}  {}  {:<8} {:<24} {:>8} {:>8} {:>8} {:>8} {:>14}  {}",
                        b.batch_id,
                        bureau_domain::calendar::beijing::format_rfc3339(
                            jiff::Timestamp::from_second(b.started_at).unwrap_or_default()
                        ),
                        b.bank,
                        b.file_name,
                        b.lines,
                        b.posted,
                        b.duplicate,
                        b.rejected,
                        b.posted_amount,
                        b.posted_by
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// A small deterministic generator (SplitMix64) for the benchmark's file: the same seed picks the
/// same customers and amounts.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// Writes a bank file of `lines` payments to customers picked at random over the whole register
/// (a fresh `bank_ref` per run, so that the file posts rather than being all duplicates).
pub(crate) async fn write_bench_file(
    store: &bureau_store::DynStore,
    path: &std::path::Path,
    lines: u64,
    seed: u64,
) -> Result<u64, Failure> {
    let mut ids: Vec<String> = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = store
            .list_customers(&Scope::All, after.as_deref(), 10_000)
            .await
            .map_err(|e| Failure::Other(anyhow::anyhow!("listing customers: {e}")))?;
        let Some(last) = page.last() else { break };
        after = Some(last.id.as_str().to_string());
        ids.extend(page.into_iter().map(|c| c.id.as_str().to_string()));
    }
    if ids.is_empty() {
        return Err(Failure::Input(
            "the database has no customers: generate some first (bureau demo --no-serve --customers N)"
                .into(),
        ));
    }
    let mut rng = SplitMix(seed);
    let run = jiff::Timestamp::now().as_millisecond();
    let today = bureau_domain::calendar::beijing::date_of(jiff::Timestamp::now());
    let mut out = std::io::BufWriter::new(
        std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
    );
    writeln!(out, "account_no,amount,paid_at,bank_ref,mode").context("writing the bench file")?;
    for n in 0..lines {
        let id = &ids[rng.below(ids.len() as u64) as usize];
        let fen = 1_000 + rng.below(50_000);
        let mode = if n % 3 == 0 { "collect" } else { "withhold" };
        let second = rng.below(86_400);
        writeln!(
            out,
            "{id},{}.{:02},{today} {:02}:{:02}:{:02},B{run}-{n},{mode}",
            fen / 100,
            fen % 100,
            second / 3600,
            second / 60 % 60,
            second % 60
        )
        .context("writing the bench file")?;
    }
    out.flush().context("writing the bench file")?;
    Ok(ids.len() as u64)
}

/// `bureau bench bank-batch`: writes a file of `lines` payments and posts it through the same use
/// case as `bureau bank post`, printing one JSON line of figures.
pub async fn bench(
    db: &str,
    lines: u64,
    bank: &str,
    chunk: usize,
    seed: u64,
    lang: Lang,
) -> Result<ExitCode, Failure> {
    let store = open(db).await?;
    let path = std::env::temp_dir().join(format!("bureau-bench-bank-{}.csv", std::process::id()));
    let customers = write_bench_file(&store, &path, lines, seed).await?;
    let text = read_text(&path.display().to_string())?;
    let input = BankBatchInput { bank, file_name: "bench.csv", text: &text, chunk };
    let cpu_before = cpu_seconds();
    let started = std::time::Instant::now();
    let r = payments::post_bank_batch(&store, &Actor::system(), payments::late_fee_rules(), &input)
        .await
        .map_err(|e| app_failure(e, lang))?;
    let secs = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds().zip(cpu_before).map(|(after, before)| after - before);
    let _ = std::fs::remove_file(&path);
    let figures = serde_json::json!({
        "backend": store.backend(),
        "customers": customers,
        "lines": r.summary.lines,
        "posted": r.summary.posted,
        "duplicate": r.summary.duplicate,
        "rejected": r.summary.rejected,
        "seconds": (secs * 1000.0).round() / 1000.0,
        "payments_per_second": (r.summary.lines as f64 / secs.max(1e-9)).round(),
        "cpu_seconds": cpu.map(|c| (c * 100.0).round() / 100.0),
        "payments_per_cpu_second": cpu.map(|c| (r.summary.lines as f64 / c.max(1e-9)).round()),
        "peak_memory_mib": peak_memory_mib(),
        "chunk": if chunk == 0 { payments::DEFAULT_CHUNK } else { chunk },
    });
    println!("{figures}");
    Ok(ExitCode::SUCCESS)
}

/// CPU time (user + system, all threads) this process has used, from `/proc/self/stat` (Linux;
/// `None` elsewhere). On a machine shared with other work the wall time says little; the CPU time
/// of the posting says what it costs.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The fields after the command name (which is in parentheses and may hold spaces).
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name and state; in
    // clock ticks, which Linux reports at 100 per second (USER_HZ).
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}
