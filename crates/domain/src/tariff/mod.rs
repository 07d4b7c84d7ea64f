//! Sales tariffs (销售电价) as dated data, and the bill calculation.
//!
//! A tariff is identified by an id such as `hlj-residential` and has one or more *versions*, each in
//! force from its `effective_from` date until the next version starts. Prices change by government
//! notice, sometimes in the middle of a billing period, so a bill picks the version(s) in force over
//! its period and prorates by days when there are several (see [`calc`]).
//!
//! The catalogue is loaded from TOML files (`data/tariffs/*.toml`): the files shipped with the
//! program are compiled in ([`TariffBook::builtin`]) and an operator may replace them with a
//! directory of their own ([`TariffBook::load_dir`]). Prices that the research could not verify are
//! marked `unverified = true` in the files (see `reference/billing-rules.md`, tag [R]).

mod book;
pub mod calc;
pub(crate) mod file;
pub mod ladder;
pub mod power_factor;
pub mod quote;
pub mod remittance;

pub use book::TariffBook;
pub use calc::{
    calculate, calculate_with, fund_lines, BillCalc, BillInput, BillLine, BillPeriod, FundLine, TouKwh,
};
pub use file::TariffFileError;
pub use power_factor::{PfAdjustment, PowerFactorTables};
pub use quote::{quote, Quote, QuoteLine, QuoteRequest};

use crate::error::FieldError;
use crate::org::coded_enum;
use crate::register::CustomerClass;
use jiff::civil::Date;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

coded_enum!(
    /// How a tariff computes a bill. The kinds follow the price structure of 发改价格〔2023〕526号
    /// (three customer classes; single-part and two-part for 工商业) and the 2012 residential tier
    /// rule (居民阶梯电价).
    TariffKind, "kind" {
        /// 居民阶梯电价: tiers on a monthly or annual kWh counter.
        ResidentialTiered = "residential_tiered", "居民阶梯电价", "Residential tiered";
        /// 居民峰谷分时电价: the household's time-of-use option.
        ResidentialTou = "residential_tou", "居民峰谷分时电价", "Residential time-of-use";
        /// 单一制电价: energy only, flat or by time-of-use period.
        SinglePart = "single_part", "单一制电价", "Single-part";
        /// 两部制电价: energy plus a basic charge on capacity (kVA) or maximum demand (kW).
        TwoPart = "two_part", "两部制电价", "Two-part";
        /// 农业生产电价: energy only, flat or by time-of-use period.
        Agricultural = "agricultural", "农业生产电价", "Agricultural production";
    }
);

coded_enum!(
    /// A time-of-use period (峰谷分时时段).
    TouPeriod, "tou_period" {
        /// 尖峰
        Critical = "critical", "尖峰", "Critical peak";
        /// 高峰
        Peak = "peak", "高峰", "Peak";
        /// 平段
        Flat = "flat", "平段", "Flat";
        /// 低谷
        Valley = "valley", "低谷", "Valley";
    }
);

/// A tariff of the catalogue: identity plus its dated versions, oldest first.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Tariff {
    pub id: String,
    pub name_zh: String,
    pub name_en: String,
    pub class: CustomerClass,
    pub kind: TariffKind,
    /// True when any price of the file is not verified against the official notice.
    pub unverified: bool,
    /// Where the figures come from (a notice number, a URL, or "unverified").
    pub source: String,
    /// Versions sorted by `effective_from`, no two on the same day.
    pub versions: Vec<TariffVersion>,
}

impl Tariff {
    /// The version in force on `day`, if the tariff had started by then.
    pub fn version_on(&self, day: Date) -> Option<&TariffVersion> {
        self.versions.iter().rev().find(|v| v.effective_from <= day)
    }

    /// The versions in force over the days `start..=end`, each with the first and last day it
    /// covers. `None` when the tariff had not started on `start`.
    pub fn versions_over(&self, start: Date, end: Date) -> Option<Vec<(&TariffVersion, Date, Date)>> {
        let first = self.versions.iter().rposition(|v| v.effective_from <= start)?;
        let mut out = Vec::new();
        for (i, v) in self.versions.iter().enumerate().skip(first) {
            let from = if i == first { start } else { v.effective_from };
            if from > end {
                break;
            }
            let to = match self.versions.get(i + 1) {
                Some(next) if next.effective_from <= end => {
                    next.effective_from.yesterday().expect("a date after the start has a yesterday")
                }
                _ => end,
            };
            out.push((v, from, to));
        }
        Some(out)
    }

    /// Residential tariffs: never assessed on power factor, never two-part.
    pub fn is_residential(&self) -> bool {
        matches!(self.kind, TariffKind::ResidentialTiered | TariffKind::ResidentialTou)
    }

    pub fn name(&self, lang: crate::i18n::Lang) -> &str {
        match lang {
            crate::i18n::Lang::Zh => &self.name_zh,
            crate::i18n::Lang::En => &self.name_en,
        }
    }
}

/// One dated version of a tariff.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TariffVersion {
    pub effective_from: Date,
    /// Energy prices in yuan/kWh. Tiered residential tariffs price energy in `tiers` instead.
    pub energy: EnergyPrices,
    pub tiers: Option<Tiers>,
    pub basic: Option<BasicCharge>,
    /// The default power-factor standard (力率考核标准) of customers on this tariff; a contract may
    /// set another.
    pub pf_standard: Option<Decimal>,
    /// Government funds and surcharges (政府性基金及附加) contained in the prices above, per kWh.
    pub funds: Vec<Fund>,
}

/// Energy prices in yuan/kWh: a flat price, prices by time-of-use period, or both.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct EnergyPrices {
    /// The price when the meter gives no period split (单一电价); for TOU tariffs it is usually the
    /// flat-period price.
    pub single: Option<Decimal>,
    pub critical: Option<Decimal>,
    pub peak: Option<Decimal>,
    pub flat: Option<Decimal>,
    pub valley: Option<Decimal>,
}

impl EnergyPrices {
    pub fn period(&self, p: TouPeriod) -> Option<Decimal> {
        match p {
            TouPeriod::Critical => self.critical,
            TouPeriod::Peak => self.peak,
            TouPeriod::Flat => self.flat,
            TouPeriod::Valley => self.valley,
        }
    }

    /// Whether the tariff prices time-of-use periods at all.
    pub fn has_tou(&self) -> bool {
        self.critical.is_some() || self.peak.is_some() || self.valley.is_some()
    }
}

/// The counter a tier threshold is compared with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "counter", rename_all = "snake_case")]
pub enum TierCounter {
    /// 月阶梯: each bill starts from zero.
    Monthly,
    /// 年阶梯: kWh accumulate over a tier year that starts in `reset_month` (1 = January).
    Annual { reset_month: i8 },
}

/// Residential tiers (阶梯): contiguous kWh bands with a price each.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Tiers {
    pub counter: TierCounter,
    pub bands: Vec<TierBand>,
}

/// A band of the counter: above `from_kwh` and up to `to_kwh` inclusive (the last band is open).
/// "171–260 kWh" in a notice is `from_kwh = 170, to_kwh = 260`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TierBand {
    /// 1-based tier number as printed on the bill (第一档, 第二档, ...).
    pub number: u8,
    pub from_kwh: Decimal,
    pub to_kwh: Option<Decimal>,
    pub price: Decimal,
}

/// The basic charge (基本电费) of a two-part tariff, per month.
///
/// Since 2023 it is published in the provincial T&D price table (发改价格〔2023〕526号).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BasicCharge {
    /// Yuan per kVA of contracted capacity per month (容量电价).
    pub capacity_price: Option<Decimal>,
    /// Yuan per kW of maximum demand per month (需量电价).
    pub demand_price: Option<Decimal>,
    /// Monthly kWh per kVA of capacity at or above which the demand price is discounted
    /// (526号: 260 kWh/kVA).
    pub high_use_kwh_per_kva: Option<Decimal>,
    /// The factor applied to the demand price in such a month (526号: 0.9).
    pub high_use_demand_factor: Option<Decimal>,
    /// In a month of connection, capacity change or termination the basic charge is prorated at
    /// 1/`partial_month_divisor` of the monthly charge per day of supply (1996 rules: 1/30 [R]).
    pub partial_month_divisor: Option<Decimal>,
}

/// A government fund or surcharge contained in the price, per kWh, kept so that reports can total
/// the amounts to remit.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Fund {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    /// Yuan per kWh.
    pub rate: Decimal,
    pub unverified: bool,
}

/// Checks a tariff id the way contracts and the CLI write it, and that the book has it.
pub fn check_tariff_id<'b>(book: &'b TariffBook, field: &str, id: &str) -> Result<&'b Tariff, FieldError> {
    let t = crate::error::required(field, id)?;
    book.get(t).ok_or_else(|| {
        FieldError::new(field, "unknown", format!("没有这个电价：{t}"), format!("no such tariff: {t}"))
    })
}
