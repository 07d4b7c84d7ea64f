//! The demo county: a database that looks like the reference bureau (安平县供电局, fictional), so
//! that anyone can see the system work in one command.
//!
//! Deterministic for a seed: the same seed and size give the same county on any machine. Streaming:
//! customers are generated and written in chunks, so a million or ten million customers need no more
//! memory than thirty-five thousand. Resumable: every chunk is one transaction and a rerun skips the
//! chunks already written, so a generator killed half way and run again ends with the same database.

mod arrears;
mod billing;
mod grid;
mod names;
pub mod org;
mod outages;
mod payments;
mod rng;
mod service;

use crate::error::AppResult;
use bureau_domain::register::{
    AccountNo, Contract, Customer, CustomerClass, Meter, ReadingBook, ServiceArea,
};
use bureau_store::{DynStore, Reading, ReadingKind, RegisterBatch, Scope};
use jiff::civil::Date;
use rng::Rng;
use rust_decimal::Decimal;

pub use org::{DEMO_LOGINS, DEMO_PASSWORD};

/// The reference bureau's size (../shared/reference/the-bureau.md).
pub const DEFAULT_CUSTOMERS: u64 = 35_600;

#[derive(Clone, Debug)]
pub struct DemoOptions {
    pub seed: u64,
    pub customers: u64,
    /// The last month with readings; twelve months up to it are generated.
    pub through_year: i16,
    pub through_month: i8,
    /// Months of consumption (readings are one more: the opening read).
    pub months: u32,
    pub progress: bool,
    /// Post payments for the bill history (most customers pay; some late, some prepay, a few owe).
    pub payments: bool,
    /// Play the arrears workflow over the last weeks for the customers left owing (needs
    /// `payments`), so that the arrears cases show every stage.
    pub arrears: bool,
}

impl DemoOptions {
    /// The default: twelve months up to the last complete month before `today`.
    pub fn new(today: Date) -> DemoOptions {
        let last = today.first_of_month().yesterday().expect("a date after year -9999");
        DemoOptions {
            seed: 2026,
            customers: DEFAULT_CUSTOMERS,
            through_year: last.year(),
            through_month: last.month(),
            months: 12,
            progress: false,
            payments: true,
            arrears: true,
        }
    }
}

/// What the generator made.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct DemoSummary {
    pub customers: u64,
    pub residential: u64,
    pub non_residential: u64,
    pub agricultural: u64,
    pub large: u64,
    pub transformers: u64,
    pub feeders: u64,
    pub staff: u64,
    pub readings: u64,
    /// kWh sold over the generated months (register advance × multiplier).
    pub kwh: u64,
    /// Chunks found already written by an earlier run and skipped.
    pub chunks_skipped: u64,
    /// Seconds spent on the register (customers, meters, contracts, readings), and on everything
    /// after it (bill and payment history, outages, service orders).
    pub register_seconds: f64,
    pub history_seconds: f64,
}

/// Customers written per transaction (with their meters, contracts and readings): large enough
/// that a transaction's fixed cost (the WAL commit, the text index's segment) is spread thin,
/// small enough that two chunks in memory (one written while the next is generated) stay small.
const CHUNK: usize = 10_000;

/// Large two-part-tariff customers of the reference bureau: annual GWh and name.
const LARGE: &[(&str, f64)] = &[
    ("安平水泥厂", 58.0),
    ("松花市第二水源厂", 14.0),
    ("安平监狱", 6.0),
    ("红星农场", 6.5),
    ("五一农场", 6.0),
    ("建设农场", 6.2),
    ("向阳农场", 5.8),
    ("前进农场", 6.1),
    ("胜利农场", 5.9),
    ("东方红农场", 6.3),
    ("友谊农场", 6.0),
    ("八五一农场", 5.7),
    ("曙光农场", 6.2),
    ("青年农场", 5.9),
    ("和平农场", 6.0),
    ("永丰农场", 6.1),
    ("长水河农场", 5.8),
    ("北大荒二农场", 6.0),
];

/// Monthly shape of use in Heilongjiang (Jan..Dec), mean 1: households use more in the long dark
/// winter; irrigation pumps run from April to September.
const RESIDENTIAL_SEASON: [f64; 12] = [1.25, 1.15, 1.0, 0.9, 0.85, 0.9, 1.0, 1.0, 0.85, 0.9, 1.05, 1.15];
const IRRIGATION_SEASON: [f64; 12] = [0.0, 0.0, 0.0, 0.4, 2.4, 3.2, 2.8, 1.9, 0.9, 0.2, 0.1, 0.1];

fn months_back(year: i16, month: i8, back: u32) -> (i16, i8) {
    let idx = year as i32 * 12 + (month as i32 - 1) - back as i32;
    ((idx / 12) as i16, (idx % 12 + 1) as i8)
}

/// Generates the demo county into `store` (which must be migrated). Safe to run again.
pub async fn generate(store: &DynStore, opts: &DemoOptions) -> AppResult<DemoSummary> {
    let mut rng = Rng::new(opts.seed);
    let mut summary = DemoSummary::default();
    let n = opts.customers;
    // Large customers scale with the county, but even a small demo has its cement plant.
    let large = ((LARGE.len() as f64 * n as f64 / DEFAULT_CUSTOMERS as f64).round() as usize)
        .max(1)
        .min(n as usize / 10);
    let public = n as usize - large;
    // About 119 customers per public transformer: 300 台区 for the reference county.
    let transformers = ((public as f64 / 118.6).round() as usize).max(1);

    store.upsert_org_units(&org::units()).await?;
    let staff = org::staff(&mut rng);
    summary.staff = staff.len() as u64;
    // Re-hashing passwords would rewrite every row; keep staff rows that are already there.
    let existing = store.list_staff(&Scope::All).await?;
    let new_staff: Vec<_> = staff
        .into_iter()
        .filter(|s| !existing.iter().any(|e| e.id == s.id))
        .map(|mut s| {
            s.password_hash = crate::auth::hash_password(DEMO_PASSWORD);
            s
        })
        .collect();
    store.upsert_staff(&new_staff).await?;

    let layout = grid::layout(&mut rng, transformers, large);
    summary.feeders = layout.feeders as u64;
    summary.transformers = layout.transformers.len() as u64;

    // Reading books: five neighbouring transformers each, about 600 meters; large customers are read
    // on the 1st by the AMI month-end freeze.
    let readers = org::readers();
    let book_of = |t: usize| t / 5;
    let books_n = layout.transformers.len().div_ceil(5);
    let mut books: Vec<ReadingBook> = (0..books_n)
        .map(|b| {
            let t = &layout.transformers[b * 5];
            ReadingBook {
                id: format!("AP-B{:04}", b + 1),
                bureau_id: org::BUREAU.into(),
                name: format!("{}{}段", grid::feeder_name(t.feeder).trim_start_matches("10kV"), b + 1),
                reading_day: 5 + (b as i64 * 7) % 21,
                reader_id: Some(readers[b % readers.len()].clone()),
            }
        })
        .collect();
    books.push(ReadingBook {
        id: "AP-BDK".into(),
        bureau_id: org::BUREAU.into(),
        name: "大客户专用段".into(),
        reading_day: 1,
        reader_id: Some(readers[0].clone()),
    });
    store.upsert_books(&books).await?;

    // Customers per transformer, spread evenly; the remainder goes to the first ones.
    let per = public / layout.transformers.len();
    let extra = public % layout.transformers.len();
    let quota = |t: usize| per + usize::from(t < extra);
    let mut nodes = layout.nodes.clone();
    // By id: a linear search per transformer would be quadratic (84,000 transformers for 10 million).
    let index: std::collections::HashMap<String, usize> =
        nodes.iter().enumerate().map(|(i, x)| (x.id.clone(), i)).collect();
    for (t, tr) in layout.transformers.iter().enumerate() {
        let node = &mut nodes[index[&tr.id]];
        node.customers = quota(t) as i64;
        // ~150 kWh a month per household, ~730 hours a month; peak about 2.6 × average.
        node.avg_kw = ((quota(t) as f64 * 0.27) * 10.0).round() / 10.0;
        node.peak_kw = (node.avg_kw * 2.6 * 10.0).round() / 10.0;
    }
    for (i, (id, _)) in layout.large_points.iter().enumerate() {
        let node = &mut nodes[index[id]];
        let (name, gwh) = large_name(i);
        node.name = format!("{name} 10kV专线");
        node.customers = 1;
        node.avg_kw = (gwh * 1e6 / 8760.0).round();
        node.peak_kw = (node.avg_kw * 1.6).round();
    }
    store.upsert_grid(&nodes, &layout.branches).await?;

    let period_end = (opts.through_year, opts.through_month);
    let first = months_back(period_end.0, period_end.1, opts.months);
    let ctx = Ctx { first, months: opts.months };

    let started = std::time::Instant::now();
    let bar = progress_bar(opts.progress, n);
    let mut writing: Option<Writing> = None;
    let mut batch = RegisterBatch::default();
    let mut seq: u64 = 0;
    for (i, (point, _feeder)) in layout.large_points.iter().enumerate() {
        seq += 1;
        let (name, gwh) = large_name(i);
        let t = Site {
            supply_point: point.clone(),
            book: "AP-BDK".into(),
            reading_day: 1,
            urban: i < 3,
            remote: i >= 3,
        };
        add_large(&mut rng, &ctx, &mut batch, &mut summary, seq, &t, name, gwh);
        if batch.customers.len() >= CHUNK {
            flush(store, std::mem::take(&mut batch), &mut summary, &bar, &mut writing).await?;
        }
    }
    for (t, tr) in layout.transformers.iter().enumerate() {
        let book = &books[book_of(t)];
        let site = Site {
            supply_point: tr.id.clone(),
            book: book.id.clone(),
            reading_day: book.reading_day as i8,
            urban: tr.urban,
            remote: tr.remote,
        };
        for _ in 0..quota(t) {
            seq += 1;
            add_public(&mut rng, &ctx, &mut batch, &mut summary, seq, &site, tr.section);
            if batch.customers.len() >= CHUNK {
                flush(store, std::mem::take(&mut batch), &mut summary, &bar, &mut writing).await?;
            }
        }
    }
    flush(store, std::mem::take(&mut batch), &mut summary, &bar, &mut writing).await?;
    written(&mut writing, &mut summary, &bar).await?;
    bar.finish_and_clear();
    summary.customers = seq;
    summary.register_seconds = started.elapsed().as_secs_f64();
    let started = std::time::Instant::now();
    billing::history(store, opts).await?;
    if opts.payments {
        payments::history(store, opts).await?;
        if opts.arrears {
            arrears::history(store, opts).await?;
        }
    }
    outages::generate(store, opts).await?;
    service::history(store, opts, summary.customers).await?;
    summary.history_seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}

/// A chunk being written while the next one is generated: its customers, and whether an earlier
/// run had written it already.
type Writing = tokio::task::JoinHandle<AppResult<(u64, bool)>>;

/// Starts writing one chunk in one transaction (unless an earlier run already did), once the
/// chunk before it is written: chunks land in order, so a generator killed at any point leaves
/// whole chunks up to some customer and the rerun skips exactly those.
async fn flush(
    store: &DynStore,
    batch: RegisterBatch,
    summary: &mut DemoSummary,
    bar: &indicatif::ProgressBar,
    writing: &mut Option<Writing>,
) -> AppResult<()> {
    let Some(last) = batch.customers.last() else { return Ok(()) };
    let last = last.id.as_str().to_string();
    let customers = batch.customers.len() as u64;
    summary.readings += batch.readings.len() as u64;
    written(writing, summary, bar).await?;
    let store = store.clone();
    *writing = Some(tokio::spawn(async move {
        // The chunk's readings are written in the same transaction as its customers: if the last
        // customer's readings are there, the whole chunk is.
        if !store.readings_of(&last, 1).await?.is_empty() {
            return Ok((customers, true));
        }
        store.bulk_load(std::sync::Arc::new(batch)).await?;
        Ok((customers, false))
    }));
    Ok(())
}

/// Waits for the chunk being written, if any.
async fn written(
    writing: &mut Option<Writing>,
    summary: &mut DemoSummary,
    bar: &indicatif::ProgressBar,
) -> AppResult<()> {
    let Some(h) = writing.take() else { return Ok(()) };
    let (customers, skipped) = h.await.map_err(|e| {
        crate::error::AppError::Store(bureau_store::StoreError::Database(format!(
            "demo chunk write failed: {e}"
        )))
    })??;
    summary.chunks_skipped += u64::from(skipped);
    bar.inc(customers);
    Ok(())
}

fn large_name(i: usize) -> (String, f64) {
    match LARGE.get(i) {
        Some((name, gwh)) => (name.to_string(), *gwh),
        None => (
            format!("{}{}号", LARGE[3 + i % (LARGE.len() - 3)].0, i / LARGE.len() + 1),
            LARGE[3 + i % (LARGE.len() - 3)].1,
        ),
    }
}

fn progress_bar(show: bool, n: u64) -> indicatif::ProgressBar {
    if !show {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(n);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{msg} [{bar:40}] {pos}/{len} customers ({per_sec}, eta {eta})",
        )
        .expect("static template")
        .progress_chars("=> "),
    );
    bar.set_message("generating");
    bar
}

struct Ctx {
    first: (i16, i8),
    months: u32,
}

impl Ctx {
    /// The date of the k-th reading (0 = the opening read) on the given reading day.
    fn read_on(&self, k: u32, day: i8) -> Date {
        let (y, m) = months_back(self.first.0, self.first.1, 0);
        let idx = y as i32 * 12 + (m as i32 - 1) + k as i32;
        Date::new((idx / 12) as i16, (idx % 12 + 1) as i8, day).expect("reading day 1..=28")
    }

    /// Month of year (0-based) of the period closed by the k-th reading.
    fn month_index(&self, k: u32) -> usize {
        ((self.first.1 as u32 - 1 + k) % 12) as usize
    }
}

struct Site {
    supply_point: String,
    book: String,
    reading_day: i8,
    urban: bool,
    remote: bool,
}

fn account(seq: u64) -> AccountNo {
    AccountNo::parse("id", &format!("23{seq:08}")).expect("ten digits")
}

fn install_date(rng: &mut Rng, ctx: &Ctx) -> Date {
    let latest = ctx.read_on(0, 1).saturating_sub(jiff::Span::new().days(30));
    let earliest = Date::constant(2008, 1, 1);
    let span_days = (latest - earliest).get_days().max(1) as u64;
    earliest.saturating_add(jiff::Span::new().days(rng.below(span_days) as i64))
}

fn dec(v: f64) -> Decimal {
    Decimal::from_f64_retain((v * 100.0).round() / 100.0).unwrap_or_default().round_dp(2)
}

struct Usage {
    /// kWh per month of the periods, in order.
    monthly_kwh: Vec<f64>,
    multiplier: i64,
    tou: bool,
    /// Ratio of reactive to active energy, for meters with a reactive register.
    kvar_ratio: Option<f64>,
    /// Load factor, for meters with a maximum-demand register.
    load_factor: Option<f64>,
}

/// Builds the readings of one meter from its monthly use and adds up the kWh sold.
fn readings(
    rng: &mut Rng,
    ctx: &Ctx,
    c: &Customer,
    m: &Meter,
    day: i8,
    u: &Usage,
    kwh: &mut u64,
) -> Vec<Reading> {
    let mut total = m.initial_reading.try_into().unwrap_or(0.0f64);
    // Split the opening register into peak, flat and valley registers that add up to it.
    let (mut peak, mut flat) = ((total * 0.3).round(), (total * 0.45).round());
    let mut valley = total - peak - flat;
    let mut kvarh = 0.0;
    let mut out = Vec::with_capacity(ctx.months as usize + 1);
    for k in 0..=ctx.months {
        let mut max_demand = None;
        if k > 0 {
            let used = u.monthly_kwh[k as usize - 1];
            let adv = (used / u.multiplier as f64).round();
            *kwh += (adv as u64) * u.multiplier as u64;
            total += adv;
            let p = (adv * rng.range(0.28, 0.36)).round();
            let v = (adv * rng.range(0.2, 0.3)).round();
            peak += p;
            valley += v;
            flat += adv - p - v;
            if let Some(r) = u.kvar_ratio {
                kvarh += (adv * r).round();
            }
            if let Some(lf) = u.load_factor {
                max_demand = Some(dec(used / 730.0 / lf / u.multiplier as f64));
            }
        }
        out.push(Reading {
            customer_id: c.id.as_str().to_string(),
            meter_id: m.meter_id.clone(),
            read_on: ctx.read_on(k, day).to_string(),
            kind: ReadingKind::Actual,
            source: if u.multiplier > 1 { "ami".into() } else { "manual".into() },
            total: Decimal::from(total as i64),
            peak: u.tou.then(|| Decimal::from(peak as i64)),
            flat: u.tou.then(|| Decimal::from(flat as i64)),
            valley: u.tou.then(|| Decimal::from(valley as i64)),
            max_demand,
            kvarh: u.kvar_ratio.map(|_| Decimal::from(kvarh as i64)),
        });
    }
    out
}

#[allow(clippy::too_many_arguments)]
fn add_large(
    rng: &mut Rng,
    ctx: &Ctx,
    batch: &mut RegisterBatch,
    s: &mut DemoSummary,
    seq: u64,
    site: &Site,
    name: String,
    gwh: f64,
) {
    let id = account(seq);
    let customer = Customer {
        id: id.clone(),
        bureau_id: org::BUREAU.into(),
        address: if site.urban {
            format!("{}工业园区{}号", names::TOWN, seq)
        } else {
            format!("安平县{}场部", name)
        },
        name,
        phone: Some(format!("0451-{:08}", 86_000_000 + rng.below(999_999))),
        class: CustomerClass::IndustrialCommercial,
        area: if site.remote {
            ServiceArea::Remote
        } else if site.urban {
            ServiceArea::Urban
        } else {
            ServiceArea::Rural
        },
        supply_point: Some(site.supply_point.clone()),
        book_id: Some(site.book.clone()),
    };
    // 10 kV metering: PT 10000/100 × CT 100/5..300/5.
    let multiplier = 100 * (20 + 20 * rng.below(3) as i64);
    let monthly: Vec<f64> = (1..=ctx.months)
        .map(|k| gwh * 1e6 / 12.0 * rng.range(0.85, 1.15) * if ctx.month_index(k) < 3 { 1.05 } else { 1.0 })
        .collect();
    let capacity = ((gwh * 1e6 / 8760.0 / 0.55 / 0.9 / 315.0).ceil() * 315.0).max(630.0);
    let installed_on = install_date(rng, ctx);
    let meter = Meter {
        customer_id: id.clone(),
        meter_id: format!("DK{seq:010}"),
        multiplier,
        digits: 6,
        tou: true,
        installed_on,
        initial_reading: Decimal::from(rng.below(20_000)),
        removed_on: None,
        final_reading: None,
    };
    let usage = Usage {
        monthly_kwh: monthly,
        multiplier,
        tou: true,
        kvar_ratio: Some(rng.range(0.35, 0.6)),
        load_factor: Some(rng.range(0.45, 0.7)),
    };
    batch.readings.extend(readings(rng, ctx, &customer, &meter, site.reading_day, &usage, &mut s.kwh));
    batch.contracts.push(Contract {
        customer_id: id,
        contract_id: "HT1".into(),
        tariff_id: "example-two-part".into(),
        capacity_kva: Decimal::from(capacity as i64),
        pf_standard: Some(Decimal::new(90, 2)),
        due_days: 10,
        effective_from: installed_on,
        effective_to: None,
    });
    batch.meters.push(meter);
    batch.customers.push(customer);
    s.large += 1;
}

fn add_public(
    rng: &mut Rng,
    ctx: &Ctx,
    batch: &mut RegisterBatch,
    s: &mut DemoSummary,
    seq: u64,
    site: &Site,
    section: usize,
) {
    let id = account(seq);
    // In town 95% households and 5% shops; in the countryside irrigation wells (机井) too.
    let roll = rng.unit();
    let class = if site.urban {
        if roll < 0.95 {
            CustomerClass::Residential
        } else {
            CustomerClass::IndustrialCommercial
        }
    } else if roll < 0.895 {
        CustomerClass::Residential
    } else if roll < 0.925 {
        CustomerClass::IndustrialCommercial
    } else {
        CustomerClass::Agricultural
    };
    let township = section + seq as usize % 3;
    let (name, address) = match class {
        CustomerClass::Residential => (
            names::person(rng),
            if site.urban { names::town_address(rng) } else { names::rural_address(rng, township) },
        ),
        CustomerClass::IndustrialCommercial => (
            names::shop(rng),
            if site.urban { names::town_address(rng) } else { names::rural_address(rng, township) },
        ),
        CustomerClass::Agricultural => (
            format!("{}{}号机井", names::township(township), 1 + rng.below(60)),
            names::rural_address(rng, township),
        ),
    };
    let customer = Customer {
        id: id.clone(),
        bureau_id: org::BUREAU.into(),
        name,
        address,
        phone: rng.chance(0.93).then(|| names::mobile(rng)),
        class,
        area: if site.remote {
            ServiceArea::Remote
        } else if site.urban {
            ServiceArea::Urban
        } else {
            ServiceArea::Rural
        },
        supply_point: Some(site.supply_point.clone()),
        book_id: Some(site.book.clone()),
    };
    let (mean, sigma, capacity, tariff, multiplier, pf) = match class {
        CustomerClass::Residential => {
            s.residential += 1;
            // Median chosen so that the mean is ~150 kWh a month.
            (
                150.0 / 1.133,
                0.5,
                8,
                if rng.chance(0.08) { "hlj-residential-tou" } else { "hlj-residential" },
                1,
                None,
            )
        }
        CustomerClass::IndustrialCommercial => {
            s.non_residential += 1;
            let cap = *rng.pick(&[10i64, 20, 30, 50, 80, 100, 160]);
            let mult = if cap >= 80 { 30 } else { 1 };
            (2600.0 / 1.377, 0.8, cap, "hlj-commercial", mult, (cap >= 100).then(|| Decimal::new(85, 2)))
        }
        CustomerClass::Agricultural => {
            s.agricultural += 1;
            let cap = *rng.pick(&[10i64, 15, 20, 30, 50]);
            (800.0 / 1.133, 0.5, cap, "hlj-agricultural", 1, None)
        }
    };
    let level = mean * rng.lognormal(sigma);
    let monthly: Vec<f64> = (1..=ctx.months)
        .map(|k| {
            let season = match class {
                CustomerClass::Agricultural => IRRIGATION_SEASON[ctx.month_index(k)],
                CustomerClass::Residential => RESIDENTIAL_SEASON[ctx.month_index(k)],
                CustomerClass::IndustrialCommercial => 1.0,
            };
            (level * season * rng.range(0.85, 1.15)).max(0.0)
        })
        .collect();
    let installed_on = install_date(rng, ctx);
    let tou = tariff == "hlj-residential-tou" || rng.chance(0.2);
    let meter = Meter {
        customer_id: id.clone(),
        meter_id: format!("E{seq:011}"),
        multiplier,
        digits: 6,
        tou,
        installed_on,
        initial_reading: Decimal::from(rng.below(60_000)),
        removed_on: None,
        final_reading: None,
    };
    let usage = Usage {
        monthly_kwh: monthly,
        multiplier,
        tou,
        kvar_ratio: pf.map(|_| rng.range(0.3, 0.7)),
        load_factor: None,
    };
    batch.readings.extend(readings(rng, ctx, &customer, &meter, site.reading_day, &usage, &mut s.kwh));
    batch.contracts.push(Contract {
        customer_id: id,
        contract_id: "HT1".into(),
        tariff_id: tariff.into(),
        capacity_kva: Decimal::from(capacity),
        pf_standard: pf,
        due_days: 15,
        effective_from: installed_on,
        effective_to: None,
    });
    batch.meters.push(meter);
    batch.customers.push(customer);
}
