//! The bill calculation (电费计算): from a tariff and a month's quantities to itemised lines.
//!
//! Rules, each cited where it is coded:
//! - residential tiers (居民阶梯电价, national rule in force since 2012-07-01) on a monthly or an
//!   annual counter, the annual counter restarting in the tariff's reset month;
//! - time-of-use periods (峰谷分时电价, 发改价格〔2021〕1093号) for residential and other customers;
//! - single-part and two-part tariffs (发改价格〔2023〕526号), the basic charge on contracted
//!   capacity or on maximum demand, with the demand price at 90 % in a month of at least 260 kWh per
//!   kVA of capacity;
//! - power-factor adjustment (水电财字〔1983〕215号), see [`super::power_factor`];
//! - a tariff version that changes inside the period: every quantity (kWh, tier thresholds of a
//!   monthly counter, capacity, demand) is split by the days each version is in force.
//!
//! Money: each line's amount is quantity × unit price rounded half-up to the fen once, and the total
//! is the sum of the lines, so that the lines always add up to the total (DESIGN.md, "Money").

use super::power_factor::{check_standard, power_factor_hundredths, PfAdjustment, PowerFactorTables};
use super::{Tariff, TariffKind, TariffVersion, TierCounter, TouPeriod};
use crate::error::FieldError;
use crate::i18n::Text;
use crate::money::Fen;
use jiff::civil::Date;
use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// A billing month (电费年月), written `YYYY-MM`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BillPeriod {
    pub year: i16,
    pub month: i8,
}

impl BillPeriod {
    pub fn new(field: &str, year: i16, month: i8) -> Result<BillPeriod, FieldError> {
        if !(1..=12).contains(&month) || !(1900..=9999).contains(&year) {
            return Err(FieldError::invalid(
                field,
                format!("电费年月应为YYYY-MM：{year}-{month}"),
                format!("a billing period is written YYYY-MM: {year}-{month}"),
            ));
        }
        Ok(BillPeriod { year, month })
    }

    /// Reads `YYYY-MM`.
    pub fn parse(field: &str, text: &str) -> Result<BillPeriod, FieldError> {
        let t = crate::error::required(field, text)?;
        let bad = || {
            FieldError::invalid(
                field,
                format!("电费年月应为YYYY-MM：{t}"),
                format!("a billing period is written YYYY-MM: {t}"),
            )
        };
        let (y, m) = t.split_once('-').ok_or_else(bad)?;
        if y.len() != 4 || m.len() != 2 {
            return Err(bad());
        }
        let year: i16 = y.parse().map_err(|_| bad())?;
        let month: i8 = m.parse().map_err(|_| bad())?;
        BillPeriod::new(field, year, month)
    }

    pub fn first_day(self) -> Date {
        Date::new(self.year, self.month, 1).expect("validated period")
    }

    pub fn last_day(self) -> Date {
        self.first_day().last_of_month()
    }

    /// The first month of the annual tier year that contains this period, for a counter that
    /// restarts in `reset_month`. The caller sums the kWh billed from that month on (excluding
    /// this bill) to get [`BillInput::ytd_kwh`].
    pub fn tier_year_start(self, reset_month: i8) -> BillPeriod {
        let year = if self.month >= reset_month { self.year } else { self.year - 1 };
        BillPeriod { year, month: reset_month }
    }
}

impl fmt::Display for BillPeriod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl Serialize for BillPeriod {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for BillPeriod {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        BillPeriod::parse("period", &s).map_err(|e| serde::de::Error::custom(e.message.en))
    }
}

/// kWh by time-of-use period, as the meter registers them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TouKwh {
    #[serde(default)]
    pub critical: Decimal,
    #[serde(default)]
    pub peak: Decimal,
    #[serde(default)]
    pub flat: Decimal,
    #[serde(default)]
    pub valley: Decimal,
}

impl TouKwh {
    pub fn get(&self, p: TouPeriod) -> Decimal {
        match p {
            TouPeriod::Critical => self.critical,
            TouPeriod::Peak => self.peak,
            TouPeriod::Flat => self.flat,
            TouPeriod::Valley => self.valley,
        }
    }

    pub fn sum(&self) -> Decimal {
        self.critical + self.peak + self.flat + self.valley
    }
}

/// What a bill is computed from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillInput {
    pub period: BillPeriod,
    /// First day of consumption (inclusive).
    pub start: Date,
    /// Last day of consumption (inclusive).
    pub end: Date,
    /// Total kWh of the period.
    pub kwh: Decimal,
    /// kWh by time-of-use period; they must add up to `kwh`.
    #[serde(default)]
    pub tou: Option<TouKwh>,
    /// Contracted capacity (合同容量), kVA.
    #[serde(default)]
    pub capacity_kva: Decimal,
    /// Maximum demand (最大需量), kW. When given, a two-part basic charge is billed on demand,
    /// otherwise on capacity.
    #[serde(default)]
    pub max_demand_kw: Option<Decimal>,
    /// Reactive energy (无功电量), kvarh. Without it no power-factor adjustment is made.
    #[serde(default)]
    pub kvarh: Option<Decimal>,
    /// The contract's power-factor standard; `None` uses the tariff's default.
    #[serde(default)]
    pub pf_standard: Option<Decimal>,
    /// kWh already billed in this annual tier year before this bill (ignored by monthly counters
    /// and in the reset month).
    #[serde(default)]
    pub ytd_kwh: Decimal,
    /// Days of supply in a month of connection, capacity change or termination; the basic charge
    /// is then prorated by the tariff's `partial_month_divisor` (1996 rules: 1/30 a day [R]).
    /// `None` for a normal month: the whole monthly basic charge.
    #[serde(default)]
    pub basic_days: Option<i64>,
}

impl BillInput {
    /// A bill for a whole calendar month with only a kWh total.
    pub fn month(period: BillPeriod, kwh: Decimal) -> BillInput {
        BillInput {
            period,
            start: period.first_day(),
            end: period.last_day(),
            kwh,
            tou: None,
            capacity_kva: Decimal::ZERO,
            max_demand_kw: None,
            kvarh: None,
            pf_standard: None,
            ytd_kwh: Decimal::ZERO,
            basic_days: None,
        }
    }
}

/// One itemised line of a bill.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BillLine {
    /// A stable code: `energy`, `energy_tier_1`, `energy_peak`, `basic_capacity`, `basic_demand`,
    /// `pf_adjustment`.
    pub code: String,
    pub description: Text,
    pub quantity: Decimal,
    /// `kWh`, `kVA`, `kW`, or `yuan` (the base of the power-factor adjustment).
    pub unit: &'static str,
    /// Yuan per unit; for the power-factor line the fraction of the base (0.04 for +4 %).
    pub unit_price: Decimal,
    pub amount: Fen,
    /// The tier number (第几档) of a tier line.
    pub tier: Option<u8>,
    /// For a tier line: kWh counted in this tier so far in the counter period (the tier year of
    /// an annual counter, the month of a monthly one), including this line.
    pub ytd_kwh: Option<Decimal>,
    /// The tariff version the line was priced with.
    pub version_from: Date,
    /// Days of the period priced with that version.
    pub days: i64,
}

/// A government fund contained in the energy charge (not added to the total).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FundLine {
    pub code: String,
    pub name: Text,
    pub kwh: Decimal,
    pub rate: Decimal,
    pub amount: Fen,
    pub unverified: bool,
    pub version_from: Date,
}

/// The computed bill.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BillCalc {
    pub tariff_id: String,
    pub period: BillPeriod,
    pub start: Date,
    pub end: Date,
    pub days: i64,
    pub lines: Vec<BillLine>,
    /// The sum of `lines`.
    pub total: Fen,
    /// Government funds contained in the energy lines, for remittance reports.
    pub funds: Vec<FundLine>,
    pub funds_total: Fen,
    pub power_factor: Option<PfAdjustment>,
    /// For an annual tier counter: the counter after this bill, to carry into the next one.
    pub ytd_kwh_after: Option<Decimal>,
    /// True when a price or table used is marked unverified in its data file.
    pub unverified: bool,
}

/// Computes a bill with the builtin power-factor tables.
pub fn calculate(tariff: &Tariff, input: &BillInput) -> Result<BillCalc, FieldError> {
    calculate_with(tariff, PowerFactorTables::builtin(), input)
}

/// Largest quantity accepted: far above any real meter, low enough that no product overflows.
const MAX_QTY: i64 = 100_000_000_000;

fn check_qty(field: &str, v: Decimal) -> Result<Decimal, FieldError> {
    if v.is_sign_negative() && !v.is_zero() {
        return Err(FieldError::invalid(
            field,
            format!("不能为负数：{v}"),
            format!("must not be negative: {v}"),
        ));
    }
    if v > Decimal::from(MAX_QTY) {
        return Err(FieldError::invalid(field, format!("数值过大：{v}"), format!("too large: {v}")));
    }
    Ok(v)
}

fn days_between(a: Date, b: Date) -> i64 {
    i64::from(a.until(b).map(|s| s.get_days()).unwrap_or(0))
}

/// Splits `total` over segments whose cumulative day counts are `cum` (the last equal to the
/// whole period). Each part is rounded to 0.01 on the cumulative sum, so the parts always add up
/// to `total` exactly and a single segment gets `total` unchanged.
fn split(total: Decimal, cum: &[i64]) -> Vec<Decimal> {
    let all = *cum.last().expect("at least one segment");
    let mut out = Vec::with_capacity(cum.len());
    let mut before = Decimal::ZERO;
    for &c in cum {
        let upto = if c == all {
            total
        } else {
            (total * Decimal::from(c) / Decimal::from(all))
                .round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
        };
        out.push(upto - before);
        before = upto;
    }
    out
}

/// Quantity × price, rounded half-up to the fen: the one rounding of a line.
pub(crate) fn line_amount(q: Decimal, p: Decimal) -> Result<Fen, FieldError> {
    q.checked_mul(p)
        .filter(|y| y.abs() < Decimal::from(10_000_000_000_000i64))
        .map(Fen::round_half_up)
        .ok_or_else(|| FieldError::invalid("kwh", "金额超出范围", "amount out of range"))
}

/// The days of the period priced with one tariff version.
struct Segment<'t> {
    version: &'t TariffVersion,
    from: Date,
    days: i64,
}

/// A bill being built: the segments of the period and the lines so far.
struct Builder<'a> {
    tariff: &'a Tariff,
    input: &'a BillInput,
    segs: Vec<Segment<'a>>,
    /// Cumulative days at the end of each segment; the last is the length of the period.
    cum: Vec<i64>,
    /// The period's kWh split over the segments.
    kwh_parts: Vec<Decimal>,
    lines: Vec<BillLine>,
}

impl<'a> Builder<'a> {
    fn new(tariff: &'a Tariff, input: &'a BillInput) -> Result<Builder<'a>, FieldError> {
        let spans = tariff.versions_over(input.start, input.end).ok_or_else(|| {
            FieldError::invalid(
                "period",
                format!("电价 {} 在 {} 尚未生效", tariff.id, input.start),
                format!("tariff {} was not yet in force on {}", tariff.id, input.start),
            )
        })?;
        let segs: Vec<Segment> = spans
            .into_iter()
            .map(|(version, from, to)| Segment { version, from, days: days_between(from, to) + 1 })
            .collect();
        let cum: Vec<i64> = segs
            .iter()
            .scan(0, |acc, s| {
                *acc += s.days;
                Some(*acc)
            })
            .collect();
        let kwh_parts = split(input.kwh, &cum);
        Ok(Builder { tariff, input, segs, cum, kwh_parts, lines: Vec::new() })
    }

    fn total_days(&self) -> i64 {
        *self.cum.last().expect("at least one segment")
    }

    /// The share of `q` that falls on segment `i`.
    fn part(&self, q: Decimal, i: usize) -> Decimal {
        split(q, &self.cum)[i]
    }

    /// Adds a line priced with segment `i`'s version; when the period has several versions the
    /// description says which days the line covers.
    #[allow(clippy::too_many_arguments)] // a bill line has that many columns
    fn push(
        &mut self,
        i: usize,
        code: String,
        desc: Text,
        quantity: Decimal,
        unit: &'static str,
        unit_price: Decimal,
        tier: Option<(u8, Decimal)>,
    ) -> Result<(), FieldError> {
        let seg = &self.segs[i];
        let amount = line_amount(quantity, unit_price)?;
        let description = if self.segs.len() > 1 {
            Text::new(
                format!("{}（{}起{}天）", desc.zh, seg.from, seg.days),
                format!("{} ({} days from {})", desc.en, seg.days, seg.from),
            )
        } else {
            desc
        };
        self.lines.push(BillLine {
            code,
            description,
            quantity: quantity.normalize(),
            unit,
            unit_price: unit_price.normalize(),
            amount,
            tier: tier.map(|t| t.0),
            ytd_kwh: tier.map(|t| t.1.normalize()),
            version_from: seg.version.effective_from,
            days: seg.days,
        });
        Ok(())
    }

    /// Residential tiers (居民阶梯电价, national rule in force since 2012-07-01; provinces set
    /// monthly or annual thresholds). Returns the annual counter after the bill, if annual.
    fn tiered_energy(&mut self) -> Result<Option<Decimal>, FieldError> {
        if self.input.tou.is_some() {
            return Err(no_tou(self.tariff));
        }
        // The annual counter restarts in the tier year's first month, whatever the caller carried.
        let mut counter = match self.segs[0].version.tiers.as_ref().map(|t| t.counter) {
            Some(TierCounter::Annual { reset_month }) if self.input.period.month != reset_month => {
                self.input.ytd_kwh
            }
            _ => Decimal::ZERO,
        };
        let mut annual_after = None;
        // kWh per band so far this month, for the "to date" column of a monthly counter.
        let mut month_in_band: Vec<Decimal> = Vec::new();
        for i in 0..self.segs.len() {
            let version = self.segs[i].version;
            let tiers = version.tiers.as_ref().expect("a tiered tariff has tiers (checked on load)");
            let q = self.kwh_parts[i];
            match tiers.counter {
                TierCounter::Monthly => {
                    // A monthly threshold is split with the days like the kWh, so that a price
                    // change inside the month neither pushes the household into a higher tier nor
                    // gives it a second tier-1 allowance.
                    for (k, b) in tiers.bands.iter().enumerate() {
                        let from = self.part(b.from_kwh, i);
                        let to = b.to_kwh.map(|t| self.part(t, i));
                        let in_band = overlap(Decimal::ZERO, q, from, to);
                        if month_in_band.len() <= k {
                            month_in_band.resize(k + 1, Decimal::ZERO);
                        }
                        month_in_band[k] += in_band;
                        if !in_band.is_zero() {
                            let to_date = month_in_band[k];
                            self.push(
                                i,
                                format!("energy_tier_{}", b.number),
                                tier_text(b.number),
                                in_band,
                                "kWh",
                                b.price,
                                Some((b.number, to_date)),
                            )?;
                        }
                    }
                }
                TierCounter::Annual { .. } => {
                    let after = counter + q;
                    for b in &tiers.bands {
                        let in_band = overlap(counter, after, b.from_kwh, b.to_kwh);
                        if !in_band.is_zero() {
                            let so_far = overlap(Decimal::ZERO, after, b.from_kwh, b.to_kwh);
                            self.push(
                                i,
                                format!("energy_tier_{}", b.number),
                                tier_text(b.number),
                                in_band,
                                "kWh",
                                b.price,
                                Some((b.number, so_far)),
                            )?;
                        }
                    }
                    counter = after;
                    annual_after = Some(counter);
                }
            }
        }
        Ok(annual_after)
    }

    /// Energy at a single price, or by time-of-use period (峰谷分时电价, 发改价格〔2021〕1093号)
    /// when the meter gives the split.
    fn priced_energy(&mut self) -> Result<(), FieldError> {
        let tariff = self.tariff;
        for i in 0..self.segs.len() {
            let prices = &self.segs[i].version.energy;
            match self.input.tou {
                Some(t) => {
                    if !prices.has_tou() {
                        return Err(no_tou(tariff));
                    }
                    for p in TouPeriod::ALL {
                        let q = self.part(t.get(*p), i);
                        if q.is_zero() {
                            continue;
                        }
                        let price = prices.period(*p).ok_or_else(|| {
                            FieldError::invalid(
                                &format!("{}_kwh", p.code()),
                                format!("电价 {} 没有{}时段电价", tariff.id, p.name_zh()),
                                format!("tariff {} has no {} price", tariff.id, p.name_en().to_lowercase()),
                            )
                        })?;
                        let desc = Text::new(
                            format!("{}电度电费", p.name_zh()),
                            format!("Energy, {}", p.name_en().to_lowercase()),
                        );
                        self.push(i, format!("energy_{}", p.code()), desc, q, "kWh", price, None)?;
                    }
                }
                None => {
                    let price = prices.single.ok_or_else(|| {
                        FieldError::new(
                            "peak_kwh",
                            "required",
                            format!("电价 {} 按峰谷时段计费，需要分时电量", tariff.id),
                            format!(
                                "tariff {} bills by time-of-use period: give the kWh per period",
                                tariff.id
                            ),
                        )
                    })?;
                    let q = self.kwh_parts[i];
                    if !q.is_zero() {
                        self.push(
                            i,
                            "energy".into(),
                            Text::new("电度电费", "Energy charge"),
                            q,
                            "kWh",
                            price,
                            None,
                        )?;
                    }
                }
            }
        }
        Ok(())
    }

    /// The basic charge (基本电费) of a two-part tariff (发改价格〔2023〕526号): on contracted
    /// capacity, or on maximum demand when the meter gives it.
    fn basic_charge(&mut self) -> Result<(), FieldError> {
        let (tariff, input) = (self.tariff, self.input);
        for i in 0..self.segs.len() {
            let basic = self.segs[i]
                .version
                .basic
                .as_ref()
                .expect("a two-part tariff has a basic charge (checked on load)");
            // A month of connection, change or termination: so many days of the divisor (1996
            // rules: 1/30 of the monthly charge a day [R]); the quantity becomes kVA·month (kW·month).
            let partial = |q: Decimal| -> Result<Decimal, FieldError> {
                let Some(days) = input.basic_days else { return Ok(q) };
                let div = basic.partial_month_divisor.ok_or_else(|| {
                    FieldError::invalid(
                        "basic_days",
                        format!("电价 {} 未规定基本电费按日折算办法", tariff.id),
                        format!("tariff {} does not say how to prorate the basic charge by day", tariff.id),
                    )
                })?;
                Ok((q * Decimal::from(days) / div)
                    .round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero))
            };
            match input.max_demand_kw {
                Some(demand) => {
                    let mut price = basic.demand_price.ok_or_else(|| {
                        FieldError::invalid(
                            "max_demand_kw",
                            format!("电价 {} 没有需量电价，基本电费按容量计收", tariff.id),
                            format!(
                                "tariff {} has no demand price; its basic charge is on capacity",
                                tariff.id
                            ),
                        )
                    })?;
                    let mut desc = Text::new("基本电费（按最大需量）", "Basic charge (maximum demand)");
                    // 发改价格〔2023〕526号: a demand-billed customer whose monthly use reaches 260 kWh
                    // per kVA of capacity pays 90 % of the demand price that month.
                    if let (Some(limit), Some(factor)) =
                        (basic.high_use_kwh_per_kva, basic.high_use_demand_factor)
                    {
                        if !input.capacity_kva.is_zero() && input.kwh / input.capacity_kva >= limit {
                            price *= factor;
                            let pct = (factor * Decimal::ONE_HUNDRED).normalize();
                            let limit = limit.normalize();
                            desc = Text::new(
                                format!("基本电费（按最大需量；每千伏安用电量达{limit}千瓦时，需量电价按{pct}%执行）"),
                                format!(
                                    "Basic charge (maximum demand; {pct} % of the demand price at {limit} kWh per kVA or more)"
                                ),
                            );
                        }
                    }
                    let q = partial(self.part(demand, i))?;
                    self.push(i, "basic_demand".into(), desc, q, "kW", price, None)?;
                }
                None => {
                    let price = basic.capacity_price.ok_or_else(|| {
                        FieldError::new(
                            "max_demand_kw",
                            "required",
                            format!("电价 {} 的基本电费按最大需量计收，需要最大需量", tariff.id),
                            format!(
                                "tariff {} bills the basic charge on maximum demand: give max_demand_kw",
                                tariff.id
                            ),
                        )
                    })?;
                    if input.capacity_kva.is_zero() {
                        return Err(FieldError::new(
                            "capacity_kva",
                            "required",
                            "两部制电价按容量计收基本电费，需要合同容量",
                            "a two-part tariff bills the basic charge on capacity: give capacity_kva",
                        ));
                    }
                    let q = partial(self.part(input.capacity_kva, i))?;
                    let desc = Text::new("基本电费（按容量）", "Basic charge (capacity)");
                    self.push(i, "basic_capacity".into(), desc, q, "kVA", price, None)?;
                }
            }
        }
        Ok(())
    }

    /// Government funds and surcharges (政府性基金及附加) contained in the energy price: not added
    /// to the bill, kept for remittance reports.
    fn funds(&self) -> Result<Vec<FundLine>, FieldError> {
        let mut funds = Vec::new();
        for (i, seg) in self.segs.iter().enumerate() {
            let kwh = self.kwh_parts[i];
            if kwh.is_zero() {
                continue;
            }
            for f in &seg.version.funds {
                funds.push(FundLine {
                    code: f.code.clone(),
                    name: Text::new(f.name_zh.clone(), f.name_en.clone()),
                    kwh: kwh.normalize(),
                    rate: f.rate,
                    amount: line_amount(kwh, f.rate)?,
                    unverified: f.unverified,
                    version_from: seg.version.effective_from,
                });
            }
        }
        Ok(funds)
    }

    /// The power-factor adjustment (功率因数调整电费, 水电财字〔1983〕215号): a percentage from the
    /// table of the customer's standard, applied to the month's basic charge plus energy charge.
    /// One line for the whole period: the power factor is a monthly figure.
    fn power_factor(
        &mut self,
        tables: &PowerFactorTables,
        standard: Decimal,
        kvarh: Decimal,
        funds_total: Fen,
    ) -> Result<Option<PfAdjustment>, FieldError> {
        let input = self.input;
        let Some(h) = power_factor_hundredths(input.kwh, kvarh) else { return Ok(None) };
        let version = tables.version_on(input.end).ok_or_else(|| {
            FieldError::invalid(
                "pf_standard",
                format!("{} 没有生效的功率因数调整电费表", input.end),
                format!("no power-factor table in force on {}", input.end),
            )
        })?;
        let table = version.table(standard).ok_or_else(|| {
            FieldError::invalid(
                "pf_standard",
                format!("没有考核标准 {standard} 的调整表"),
                format!("no adjustment table for standard {standard}"),
            )
        })?;
        let percent = table.percent(h);
        // The base is the month's basic charge plus energy charge; the tables' file says whether
        // government funds come out of it first ([R]: billing-rules.md §3.5).
        let charged: Fen = self.lines.iter().map(|l| l.amount).sum();
        let base = if version.base_excludes_funds { charged - funds_total } else { charged };
        let actual = Decimal::new(i64::from(h), 2);
        let abs = percent.abs().normalize();
        let (zh_sign, en_sign) = if percent.is_sign_negative() { ("减收", "−") } else { ("增收", "+") };
        let rate = percent / Decimal::ONE_HUNDRED;
        let last = self.segs.last().expect("at least one segment");
        self.lines.push(BillLine {
            code: "pf_adjustment".into(),
            description: Text::new(
                format!("功率因数调整电费（实际{actual}，标准{standard}，{zh_sign}{abs}%）"),
                format!("Power-factor adjustment (actual {actual}, standard {standard}, {en_sign}{abs} %)"),
            ),
            quantity: base.yuan(),
            unit: "yuan",
            unit_price: rate.normalize(),
            amount: line_amount(base.yuan(), rate)?,
            tier: None,
            ytd_kwh: None,
            version_from: last.version.effective_from,
            days: self.total_days(),
        });
        Ok(Some(PfAdjustment { actual, standard, percent: percent.normalize(), base: base.yuan() }))
    }
}

/// Checks the input against the rules that do not depend on the tariff's prices.
fn check_input(tariff: &Tariff, input: &BillInput) -> Result<(), FieldError> {
    let kwh = check_qty("kwh", input.kwh)?;
    check_qty("capacity_kva", input.capacity_kva)?;
    check_qty("ytd_kwh", input.ytd_kwh)?;
    if let Some(d) = input.max_demand_kw {
        check_qty("max_demand_kw", d)?;
    }
    if let Some(q) = input.kvarh {
        check_qty("kvarh", q)?;
    }
    if let Some(t) = &input.tou {
        for p in TouPeriod::ALL {
            check_qty(&format!("{}_kwh", p.code()), t.get(*p))?;
        }
        if t.sum() != kwh {
            return Err(FieldError::invalid(
                "kwh",
                format!("分时电量之和 {} 与总电量 {kwh} 不符", t.sum()),
                format!("the time-of-use kWh add up to {}, not the total {kwh}", t.sum()),
            ));
        }
    }
    if input.basic_days.is_some_and(|d| !(0..=31).contains(&d)) {
        return Err(FieldError::invalid("basic_days", "供电天数应为0至31", "basic_days is 0 to 31"));
    }
    if input.end < input.start {
        return Err(FieldError::invalid(
            "end",
            "结束日期早于开始日期",
            "the end date is before the start date",
        ));
    }
    if let Some(s) = input.pf_standard {
        check_standard("pf_standard", s)?;
    }
    if tariff.is_residential() && input.pf_standard.is_some() {
        // The 1983 rules assess customers of 100 kVA and more; households are never assessed.
        return Err(FieldError::invalid(
            "pf_standard",
            "居民生活用电不执行功率因数调整电费",
            "residential customers are not assessed on power factor",
        ));
    }
    Ok(())
}

/// Computes a bill. See the module documentation for the rules.
pub fn calculate_with(
    tariff: &Tariff,
    tables: &PowerFactorTables,
    input: &BillInput,
) -> Result<BillCalc, FieldError> {
    check_input(tariff, input)?;
    let mut b = Builder::new(tariff, input)?;

    let ytd_kwh_after = match tariff.kind {
        TariffKind::ResidentialTiered => b.tiered_energy()?,
        _ => {
            b.priced_energy()?;
            None
        }
    };
    if tariff.kind == TariffKind::TwoPart {
        b.basic_charge()?;
    }
    let funds = b.funds()?;
    let funds_total: Fen = funds.iter().map(|f| f.amount).sum();

    // The contract's standard, else the tariff's default; no adjustment without reactive energy.
    let last = b.segs.last().expect("at least one segment").version;
    let standard = if tariff.is_residential() { None } else { input.pf_standard.or(last.pf_standard) };
    let power_factor = match (standard, input.kvarh) {
        (Some(standard), Some(kvarh)) => b.power_factor(tables, standard, kvarh, funds_total)?,
        _ => None,
    };

    let total = b.lines.iter().map(|l| l.amount).sum();
    let days = b.total_days();
    Ok(BillCalc {
        tariff_id: tariff.id.clone(),
        period: input.period,
        start: input.start,
        end: input.end,
        days,
        lines: b.lines,
        total,
        funds,
        funds_total,
        unverified: tariff.unverified || (power_factor.is_some() && tables.unverified),
        power_factor,
        ytd_kwh_after,
    })
}

/// The government funds and surcharges (政府性基金及附加) contained in `kwh` consumed over the days
/// `start..=end` on `tariff`: the kWh split over the tariff versions in force by days, one line per
/// version and fund, each rounded half-up to the fen once. This is the very code a bill's
/// [`BillCalc::funds`] come from ([`calculate_with`] runs the same builder), so a group of bills of
/// the same tariff and dates is split exactly as each of them was. `kwh` may be negative (a credit
/// of an over-estimate, 供电营业规则 Art. 83).
pub fn fund_lines(
    tariff: &Tariff,
    start: Date,
    end: Date,
    kwh: Decimal,
) -> Result<Vec<FundLine>, FieldError> {
    if end < start {
        return Err(FieldError::invalid(
            "end",
            "结束日期早于开始日期",
            "the end date is before the start date",
        ));
    }
    if kwh.abs() > Decimal::from(MAX_QTY) {
        return Err(FieldError::invalid("kwh", format!("数值过大：{kwh}"), format!("too large: {kwh}")));
    }
    // The builder reads only the dates and the kWh of the input.
    let mut input = BillInput::month(BillPeriod { year: start.year(), month: start.month() }, kwh);
    input.start = start;
    input.end = end;
    let b = Builder::new(tariff, &input)?;
    b.funds()
}

/// kWh of the counter interval (a, b] that fall in the band (from, to].
fn overlap(a: Decimal, b: Decimal, from: Decimal, to: Option<Decimal>) -> Decimal {
    let lo = a.max(from);
    let hi = match to {
        Some(t) => b.min(t),
        None => b,
    };
    if hi > lo {
        hi - lo
    } else {
        Decimal::ZERO
    }
}

fn tier_text(n: u8) -> Text {
    const ZH: [&str; 9] = ["一", "二", "三", "四", "五", "六", "七", "八", "九"];
    let zh = ZH.get(usize::from(n).saturating_sub(1)).copied().unwrap_or("?");
    Text::new(format!("第{zh}档电度电费"), format!("Energy, tier {n}"))
}

fn no_tou(tariff: &Tariff) -> FieldError {
    FieldError::invalid(
        "peak_kwh",
        format!("电价 {} 不分时段计费，请只给总电量", tariff.id),
        format!("tariff {} has no time-of-use prices: give the total kWh only", tariff.id),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tariff::TariffBook;
    use proptest::prelude::*;
    use rust_decimal_macros::dec;

    fn book() -> TariffBook {
        TariffBook::builtin()
    }

    fn period(y: i16, m: i8) -> BillPeriod {
        BillPeriod::new("period", y, m).unwrap()
    }

    fn bill(id: &str, input: &BillInput) -> BillCalc {
        calculate(book().get(id).unwrap(), input).unwrap()
    }

    /// (code, quantity, unit price, amount in fen) of every line, for compact assertions.
    fn rows(c: &BillCalc) -> Vec<(String, Decimal, Decimal, i64)> {
        c.lines.iter().map(|l| (l.code.clone(), l.quantity, l.unit_price, l.amount.0)).collect()
    }

    fn r(code: &str, q: Decimal, p: Decimal, fen: i64) -> (String, Decimal, Decimal, i64) {
        (code.to_string(), q, p, fen)
    }

    #[test]
    fn residential_300_kwh_is_169_50() {
        // Hand check: 170×0.51 + 90×0.56 + 40×0.81 = 86.70 + 50.40 + 32.40 = 169.50.
        let c = bill("hlj-residential", &BillInput::month(period(2026, 1), dec!(300)));
        assert_eq!(
            rows(&c),
            [
                r("energy_tier_1", dec!(170), dec!(0.51), 8670),
                r("energy_tier_2", dec!(90), dec!(0.56), 5040),
                r("energy_tier_3", dec!(40), dec!(0.81), 3240),
            ]
        );
        assert_eq!(c.total.to_string(), "169.50");
        assert_eq!(c.lines[1].tier, Some(2));
        assert_eq!(c.lines[1].ytd_kwh, Some(dec!(90)));
        assert_eq!(c.lines[0].description.zh, "第一档电度电费");
        assert!(c.unverified);
        // Funds contained in the price: 300 × (0.001 + 0.0062 + 0.0005) = 0.30 + 1.86 + 0.15.
        assert_eq!(c.funds.iter().map(|f| f.amount.0).collect::<Vec<_>>(), [30, 186, 15]);
        assert_eq!(c.funds_total, Fen(231));
        assert_eq!(c.ytd_kwh_after, None);
    }

    #[test]
    fn residential_tier_boundaries() {
        let total = |kwh: Decimal| bill("hlj-residential", &BillInput::month(period(2026, 3), kwh)).total;
        assert_eq!(total(dec!(170)), Fen(8670)); // all of it in tier 1
        assert_eq!(bill("hlj-residential", &BillInput::month(period(2026, 3), dec!(170))).lines.len(), 1);
        assert_eq!(total(dec!(171)), Fen(8670 + 56)); // the 171st kWh is tier 2
        assert_eq!(total(dec!(260)), Fen(8670 + 5040));
        assert_eq!(total(dec!(261)), Fen(8670 + 5040 + 81));
        assert_eq!(total(dec!(0)), Fen(0));
        assert_eq!(total(dec!(170.5)), Fen(8670 + 28));
    }

    #[test]
    fn annual_tiers_count_the_year_and_reset() {
        let mut input = BillInput::month(period(2026, 6), dec!(100));
        input.ytd_kwh = dec!(2000);
        let c = bill("hlj-residential-annual", &input);
        // 40 kWh fill tier 1 up to 2040, 60 go to tier 2: 20.40 + 33.60.
        assert_eq!(
            rows(&c),
            [r("energy_tier_1", dec!(40), dec!(0.51), 2040), r("energy_tier_2", dec!(60), dec!(0.56), 3360)]
        );
        assert_eq!(c.lines[0].ytd_kwh, Some(dec!(2040)));
        assert_eq!(c.lines[1].ytd_kwh, Some(dec!(60)));
        assert_eq!(c.ytd_kwh_after, Some(dec!(2100)));
        assert_eq!(c.total, Fen(5400));

        // Into tier 3: 3100 before, 100 now → 20 × 0.56 + 80 × 0.81 = 11.20 + 64.80.
        input.period = period(2026, 12);
        input.ytd_kwh = dec!(3100);
        assert_eq!(bill("hlj-residential-annual", &input).total, Fen(7600));

        // January is the reset month: whatever the caller carried, the counter starts at zero.
        input.period = period(2027, 1);
        input.start = period(2027, 1).first_day();
        input.end = period(2027, 1).last_day();
        input.ytd_kwh = dec!(3500);
        let c = bill("hlj-residential-annual", &input);
        assert_eq!(rows(&c), [r("energy_tier_1", dec!(100), dec!(0.51), 5100)]);
        assert_eq!(c.ytd_kwh_after, Some(dec!(100)));

        // The monthly tariff ignores the year-to-date counter.
        let mut m = BillInput::month(period(2026, 6), dec!(100));
        m.ytd_kwh = dec!(5000);
        assert_eq!(bill("hlj-residential", &m).total, Fen(5100));
    }

    #[test]
    fn tier_year_start_follows_the_reset_month() {
        assert_eq!(period(2026, 3).tier_year_start(1), period(2026, 1));
        assert_eq!(period(2026, 3).tier_year_start(7), period(2025, 7));
        assert_eq!(period(2026, 7).tier_year_start(7), period(2026, 7));
    }

    fn tou(peak: Decimal, flat: Decimal, valley: Decimal) -> Option<TouKwh> {
        Some(TouKwh { critical: Decimal::ZERO, peak, flat, valley })
    }

    #[test]
    fn residential_time_of_use() {
        let mut input = BillInput::month(period(2026, 2), dec!(300));
        input.tou = tou(dec!(100), dec!(100), dec!(100));
        let c = bill("hlj-residential-tou", &input);
        // 100 × 0.765 + 100 × 0.51 + 100 × 0.255 = 76.50 + 51.00 + 25.50.
        assert_eq!(
            rows(&c),
            [
                r("energy_peak", dec!(100), dec!(0.765), 7650),
                r("energy_flat", dec!(100), dec!(0.51), 5100),
                r("energy_valley", dec!(100), dec!(0.255), 2550),
            ]
        );
        assert_eq!(c.total, Fen(15300));
        assert_eq!(c.lines[0].description.en, "Energy, peak");
        // Without the split the TOU tariff cannot bill.
        let e = calculate(
            book().get("hlj-residential-tou").unwrap(),
            &BillInput::month(period(2026, 2), dec!(300)),
        )
        .unwrap_err();
        assert_eq!((e.field.as_str(), e.code), ("peak_kwh", "required"));
        // The split must add up to the total.
        input.tou = tou(dec!(100), dec!(100), dec!(99));
        let e = calculate(book().get("hlj-residential-tou").unwrap(), &input).unwrap_err();
        assert_eq!(e.field, "kwh");
        // A tiered tariff has no periods.
        input.tou = tou(dec!(100), dec!(100), dec!(100));
        let e = calculate(book().get("hlj-residential").unwrap(), &input).unwrap_err();
        assert_eq!(e.field, "peak_kwh");
    }

    #[test]
    fn single_part_flat_and_by_period() {
        let c = bill("hlj-commercial", &BillInput::month(period(2026, 1), dec!(1000)));
        assert_eq!(rows(&c), [r("energy", dec!(1000), dec!(0.70), 70000)]);
        let mut input = BillInput::month(period(2026, 1), dec!(1000));
        input.tou = tou(dec!(300), dec!(400), dec!(300));
        // 300 × 0.98 + 400 × 0.70 + 300 × 0.42 = 294.00 + 280.00 + 126.00.
        let c = bill("hlj-commercial", &input);
        assert_eq!(c.total, Fen(70000));
        assert_eq!(c.lines.len(), 3);
        // Critical-peak kWh on a tariff without a critical price is refused, naming the field.
        input.tou = Some(TouKwh { critical: dec!(10), peak: dec!(290), flat: dec!(400), valley: dec!(300) });
        let e = calculate(book().get("hlj-commercial").unwrap(), &input).unwrap_err();
        assert_eq!(e.field, "critical_kwh");
    }

    #[test]
    fn agricultural_with_power_factor_080() {
        let mut input = BillInput::month(period(2026, 5), dec!(300));
        let c = bill("hlj-agricultural", &input);
        assert_eq!(rows(&c), [r("energy", dec!(300), dec!(0.48), 14400)]);
        assert!(c.power_factor.is_none());
        // 300 kWh, 400 kvarh: cos φ = 0.60; standard 0.80 table: +10 % of 144.00 = 14.40.
        input.kvarh = Some(dec!(400));
        input.pf_standard = Some(dec!(0.80));
        let c = bill("hlj-agricultural", &input);
        assert_eq!(rows(&c)[1], r("pf_adjustment", dec!(144), dec!(0.1), 1440));
        assert_eq!(c.total, Fen(15840));
        assert_eq!(c.lines[1].description.zh, "功率因数调整电费（实际0.60，标准0.80，增收10%）");
    }

    #[test]
    fn two_part_on_capacity_with_rebate() {
        let mut input = BillInput::month(period(2026, 1), dec!(10000));
        input.capacity_kva = dec!(100);
        input.kvarh = Some(dec!(0));
        let c = bill("example-two-part", &input);
        // Energy 10000 × 0.60 = 6000.00; basic 100 kVA × 20 = 2000.00.
        // PF 1.00 against 0.90: −0.75 % of (8000.00 − funds 10000 × 0.0257 = 257.00) = −58.0725 → −58.07.
        assert_eq!(
            rows(&c),
            [
                r("energy", dec!(10000), dec!(0.60), 600000),
                r("basic_capacity", dec!(100), dec!(20), 200000),
                r("pf_adjustment", dec!(7743), dec!(-0.0075), -5807),
            ]
        );
        assert_eq!(c.funds_total, Fen(25700));
        assert_eq!(c.total, Fen(794193));
        let pf = c.power_factor.unwrap();
        assert_eq!((pf.actual, pf.standard, pf.percent), (dec!(1.00), dec!(0.90), dec!(-0.75)));
        // Capacity is needed for a capacity-billed basic charge.
        input.capacity_kva = Decimal::ZERO;
        let e = calculate(book().get("example-two-part").unwrap(), &input).unwrap_err();
        assert_eq!((e.field.as_str(), e.code), ("capacity_kva", "required"));
    }

    #[test]
    fn two_part_surcharge_at_080_against_090() {
        let mut input = BillInput::month(period(2026, 1), dec!(4000));
        input.capacity_kva = dec!(100);
        input.kvarh = Some(dec!(3000));
        let c = bill("example-two-part", &input);
        // 2400.00 + 2000.00 − funds 102.80 = 4297.20; cos φ = 0.80 → +5 % = 214.86.
        assert_eq!(c.lines[2].amount, Fen(21486));
        assert_eq!(c.total, Fen(240000 + 200000 + 21486));
        // The contract may set another standard: at 0.80, cos φ = 0.80 is no adjustment.
        input.pf_standard = Some(dec!(0.80));
        let c = bill("example-two-part", &input);
        assert_eq!(c.lines[2].amount, Fen(0));
        // Without reactive energy there is no adjustment line.
        input.kvarh = None;
        assert_eq!(bill("example-two-part", &input).lines.len(), 2);
    }

    #[test]
    fn two_part_on_demand_and_the_260_kwh_per_kva_rule() {
        let mut input = BillInput::month(period(2026, 1), dec!(10000));
        input.capacity_kva = dec!(100);
        input.max_demand_kw = Some(dec!(80));
        let c = bill("example-two-part", &input);
        assert_eq!(c.lines[1].code, "basic_demand");
        assert_eq!(c.lines[1].amount, Fen(240000)); // 80 kW × 30
                                                    // 25,999 kWh on 100 kVA is under 260 kWh/kVA: full demand price.
        input.kwh = dec!(25999);
        assert_eq!(bill("example-two-part", &input).lines[1].amount, Fen(240000));
        // 26,000 kWh reaches 260 kWh/kVA: 90 % of the demand price, 80 × 27 = 2160.00 (526号).
        input.kwh = dec!(26000);
        let c = bill("example-two-part", &input);
        assert_eq!((c.lines[1].unit_price, c.lines[1].amount), (dec!(27), Fen(216000)));
        assert!(c.lines[1].description.zh.contains("90%"), "{}", c.lines[1].description.zh);
    }

    #[test]
    fn basic_charge_in_a_month_of_connection_is_prorated_by_days() {
        let mut input = BillInput::month(period(2026, 1), dec!(1000));
        input.capacity_kva = dec!(100);
        input.basic_days = Some(15);
        // 100 kVA × 15/30 = 50 kVA·month × 20 = 1000.00 (1/30 a day, 1996 rules [R]).
        let c = bill("example-two-part", &input);
        assert_eq!(rows(&c)[1], r("basic_capacity", dec!(50), dec!(20), 100000));
        input.basic_days = Some(40);
        assert_eq!(
            calculate(book().get("example-two-part").unwrap(), &input).unwrap_err().field,
            "basic_days"
        );
        // A tariff without the divisor refuses rather than guess.
        input.basic_days = Some(15);
        let t = inline(TWO_VERSIONS);
        let mut may = input.clone();
        may.period = period(2024, 5);
        may.start = period(2024, 5).first_day();
        may.end = period(2024, 5).last_day();
        assert_eq!(calculate(&t, &may).unwrap_err().field, "basic_days");
    }

    const TWO_VERSIONS: &str = r#"
id = "two-versions"
name_zh = "调价测试"
name_en = "Price change test"
class = "industrial_commercial"
kind = "two_part"
[[versions]]
effective_from = 2024-01-01
energy = { single = "0.60" }
basic = { capacity_price = "20" }
[[versions]]
effective_from = 2024-04-11
energy = { single = "0.66" }
basic = { capacity_price = "24" }
"#;

    const TIERED_TWO_VERSIONS: &str = r#"
id = "tiered-change"
name_zh = "阶梯调价测试"
name_en = "Tier price change test"
class = "residential"
kind = "residential_tiered"
[[versions]]
effective_from = 2024-01-01
[versions.tiers]
counter = "monthly"
bands = [{ from_kwh = "0", to_kwh = "170", price = "0.51" }, { from_kwh = "170", to_kwh = "260", price = "0.56" }, { from_kwh = "260", price = "0.81" }]
[[versions]]
effective_from = 2024-01-16
[versions.tiers]
counter = "monthly"
bands = [{ from_kwh = "0", to_kwh = "170", price = "0.52" }, { from_kwh = "170", to_kwh = "260", price = "0.57" }, { from_kwh = "260", price = "0.82" }]
"#;

    fn inline(text: &str) -> Tariff {
        TariffBook::from_texts([("inline.toml", text)]).unwrap().tariffs().next().unwrap().clone()
    }

    #[test]
    fn price_change_inside_the_period_is_prorated_by_days() {
        let t = inline(TWO_VERSIONS);
        // April 2024 has 30 days: 10 at the old prices (1–10), 20 at the new (11–30).
        let mut input = BillInput::month(period(2024, 4), dec!(3000));
        input.capacity_kva = dec!(100);
        let c = calculate(&t, &input).unwrap();
        assert_eq!(
            rows(&c),
            [
                r("energy", dec!(1000), dec!(0.60), 60000),
                r("energy", dec!(2000), dec!(0.66), 132000),
                r("basic_capacity", dec!(33.33), dec!(20), 66660),
                r("basic_capacity", dec!(66.67), dec!(24), 160008),
            ]
        );
        assert_eq!((c.lines[0].days, c.lines[1].days), (10, 20));
        assert_eq!(c.lines[1].version_from, Date::constant(2024, 4, 11));
        assert!(c.lines[1].description.zh.ends_with("（2024-04-11起20天）"), "{}", c.lines[1].description.zh);
        assert_eq!(c.total, Fen(60000 + 132000 + 66660 + 160008));
        // A period wholly after the change uses the new version only.
        let mut may = BillInput::month(period(2024, 5), dec!(100));
        may.capacity_kva = dec!(10);
        let c = calculate(&t, &may).unwrap();
        assert_eq!(
            rows(&c),
            [r("energy", dec!(100), dec!(0.66), 6600), r("basic_capacity", dec!(10), dec!(24), 24000)]
        );
        // A period before the tariff started is refused.
        let e = calculate(&t, &BillInput::month(period(2023, 12), dec!(100))).unwrap_err();
        assert_eq!(e.field, "period");
    }

    #[test]
    fn tier_thresholds_are_prorated_with_the_days() {
        let t = inline(TIERED_TWO_VERSIONS);
        // January 2024: 15 days old prices, 16 days new. 310 kWh → 150 + 160.
        // Thresholds 170 → 82.26 + 87.74, 260 → 125.81 + 134.19 (rounded to 0.01 on the running sum).
        let c = calculate(&t, &BillInput::month(period(2024, 1), dec!(310))).unwrap();
        assert_eq!(
            rows(&c),
            [
                r("energy_tier_1", dec!(82.26), dec!(0.51), 4195),
                r("energy_tier_2", dec!(43.55), dec!(0.56), 2439),
                r("energy_tier_3", dec!(24.19), dec!(0.81), 1959),
                r("energy_tier_1", dec!(87.74), dec!(0.52), 4562),
                r("energy_tier_2", dec!(46.45), dec!(0.57), 2648),
                r("energy_tier_3", dec!(25.81), dec!(0.82), 2116),
            ]
        );
        assert_eq!(c.total, Fen(17919));
        // The month-to-date column adds the two parts of tier 1.
        assert_eq!(c.lines[3].ytd_kwh, Some(dec!(170)));
    }

    #[test]
    fn residential_is_never_assessed_on_power_factor() {
        let mut input = BillInput::month(period(2026, 1), dec!(100));
        input.pf_standard = Some(dec!(0.85));
        let e = calculate(book().get("hlj-residential").unwrap(), &input).unwrap_err();
        assert_eq!(e.field, "pf_standard");
        input.pf_standard = Some(dec!(0.95));
        let e = calculate(book().get("hlj-commercial").unwrap(), &input).unwrap_err();
        assert_eq!(e.field, "pf_standard");
    }

    #[test]
    fn bad_inputs_name_the_field() {
        let t = book().get("hlj-commercial").unwrap().clone();
        let mut input = BillInput::month(period(2026, 1), dec!(-1));
        assert_eq!(calculate(&t, &input).unwrap_err().field, "kwh");
        input.kwh = dec!(1);
        input.end = Date::constant(2025, 12, 1);
        assert_eq!(calculate(&t, &input).unwrap_err().field, "end");
        assert_eq!(BillPeriod::parse("period", "2026-13").unwrap_err().field, "period");
        assert_eq!(BillPeriod::parse("period", "2026-1").unwrap_err().code, "invalid");
        assert_eq!(BillPeriod::parse("period", "2026-02").unwrap().to_string(), "2026-02");
    }

    fn any_input() -> impl Strategy<Value = (usize, BillInput)> {
        (
            0usize..7,
            0i64..5_000_000,
            prop::option::of((0i64..100, 0i64..100, 0i64..100)),
            0i64..100_000,
            prop::option::of(0i64..100_000),
            prop::option::of(0i64..5_000_000),
            0i64..500_000,
            1i8..=12,
            1i8..=28,
        )
            .prop_map(|(t, kwh, split, cap, demand, kvarh, ytd, month, start_day)| {
                let p = BillPeriod { year: 2024, month };
                let kwh = Decimal::new(kwh, 2);
                let tou = split.map(|(a, b, c)| {
                    let sum = Decimal::from(a + b + c + 1);
                    let peak = (kwh * Decimal::from(a) / sum).round_dp(2);
                    let flat = (kwh * Decimal::from(b) / sum).round_dp(2);
                    TouKwh { critical: Decimal::ZERO, peak, flat, valley: kwh - peak - flat }
                });
                let input = BillInput {
                    period: p,
                    start: Date::new(2024, month, start_day).unwrap(),
                    end: p.last_day(),
                    kwh,
                    tou,
                    capacity_kva: Decimal::new(cap, 1),
                    max_demand_kw: demand.map(|d| Decimal::new(d, 1)),
                    kvarh: kvarh.map(|q| Decimal::new(q, 2)),
                    pf_standard: None,
                    ytd_kwh: Decimal::new(ytd, 2),
                    basic_days: None,
                };
                (t, input)
            })
    }

    proptest! {
        #[test]
        fn lines_add_up_to_the_total((which, input) in any_input()) {
            let b = book();
            let mut tariffs: Vec<Tariff> = b.tariffs().cloned().collect();
            tariffs.push(inline(TWO_VERSIONS));
            let t = &tariffs[which % tariffs.len()];
            if let Ok(c) = calculate(t, &input) {
                prop_assert_eq!(c.total, c.lines.iter().map(|l| l.amount).sum::<Fen>());
                // Every kWh is billed exactly once.
                let billed: Decimal = c.lines.iter().filter(|l| l.unit == "kWh").map(|l| l.quantity).sum();
                prop_assert_eq!(billed, input.kwh);
                for l in &c.lines {
                    // Each amount is its own quantity × price rounded once.
                    prop_assert_eq!(l.amount, Fen::round_half_up(l.quantity * l.unit_price));
                }
            }
        }

        #[test]
        fn two_identical_versions_bill_like_one(kwh in 0i64..2_000_000, day in 2i8..=31) {
            // Splitting the month at a "change" that changes nothing moves at most a fen per line.
            let same_prices = TIERED_TWO_VERSIONS
                .replace("\"0.52\"", "\"0.51\"").replace("\"0.57\"", "\"0.56\"").replace("\"0.82\"", "\"0.81\"");
            let one = same_prices.replace("2024-01-16", "2024-02-01");
            let same = same_prices.replace("2024-01-16", &format!("2024-01-{day:02}"));
            let input = BillInput::month(period(2024, 1), Decimal::new(kwh, 2));
            let a = calculate(&inline(&one), &input).unwrap();
            let b = calculate(&inline(&same), &input).unwrap();
            prop_assert!((a.total.0 - b.total.0).abs() <= b.lines.len() as i64, "{} vs {}", a.total, b.total);
        }
    }
}
