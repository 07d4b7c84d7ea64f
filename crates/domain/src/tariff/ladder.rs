//! Where a household stands on its tier ladder (阶梯电价档位), for the customer's own view.
//!
//! The bands are those of the tariff in force (data/tariffs/*.toml): a band covers kWh above
//! `from_kwh` up to and including `to_kwh`, so under the Heilongjiang monthly ladder 170 kWh is
//! still tier 1 and 170.01 kWh is tier 2 (national rule of 2012-07-01, 居民阶梯电价: "第一档
//! 0–170 kWh, 第二档 171–260 kWh"). The counter compared with the bands is the month's kWh for a
//! monthly ladder and the tier year's running total (`ytd_kwh` of the bill) for an annual one.

use super::{TierCounter, Tiers};
use rust_decimal::Decimal;
use serde::Serialize;

/// A counter's position on the ladder.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TierPosition {
    /// 1-based tier (第一档…).
    pub tier: u8,
    /// The kWh compared with the bands.
    pub counter_kwh: Decimal,
    /// `monthly` or `annual`.
    pub counter: &'static str,
    /// Where the current band starts and ends (`None`: open-ended top band).
    pub band_from_kwh: Decimal,
    pub band_to_kwh: Option<Decimal>,
    /// kWh left before the next, dearer band; `None` on the top band.
    pub to_next_kwh: Option<Decimal>,
    /// Every threshold of the ladder (the `to_kwh` of each closed band), for drawing it.
    pub thresholds: Vec<Decimal>,
}

/// The position of `counter_kwh` (the month's or the tier year's kWh) on `tiers`. A negative
/// counter (a correction) counts as zero; a ladder without bands is tier 1 with no threshold.
pub fn position(tiers: &Tiers, counter_kwh: Decimal) -> TierPosition {
    let kwh = counter_kwh.max(Decimal::ZERO);
    let thresholds: Vec<Decimal> = tiers.bands.iter().filter_map(|b| b.to_kwh).collect();
    let band =
        tiers.bands.iter().find(|b| b.to_kwh.is_none_or(|to| kwh <= to)).or_else(|| tiers.bands.last());
    let counter = match tiers.counter {
        TierCounter::Monthly => "monthly",
        TierCounter::Annual { .. } => "annual",
    };
    match band {
        Some(b) => TierPosition {
            tier: b.number,
            counter_kwh: kwh,
            counter,
            band_from_kwh: b.from_kwh,
            band_to_kwh: b.to_kwh,
            to_next_kwh: b.to_kwh.map(|to| to - kwh),
            thresholds,
        },
        None => TierPosition {
            tier: 1,
            counter_kwh: kwh,
            counter,
            band_from_kwh: Decimal::ZERO,
            band_to_kwh: None,
            to_next_kwh: None,
            thresholds,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tariff::TierBand;
    use rust_decimal_macros::dec;

    fn hlj_monthly() -> Tiers {
        Tiers {
            counter: TierCounter::Monthly,
            bands: vec![
                TierBand { number: 1, from_kwh: dec!(0), to_kwh: Some(dec!(170)), price: dec!(0.51) },
                TierBand { number: 2, from_kwh: dec!(170), to_kwh: Some(dec!(260)), price: dec!(0.56) },
                TierBand { number: 3, from_kwh: dec!(260), to_kwh: None, price: dec!(0.81) },
            ],
        }
    }

    #[test]
    fn a_threshold_belongs_to_the_lower_tier() {
        let t = hlj_monthly();
        assert_eq!(position(&t, dec!(0)).tier, 1);
        let p = position(&t, dec!(170));
        assert_eq!((p.tier, p.to_next_kwh), (1, Some(dec!(0))));
        let p = position(&t, dec!(170.01));
        assert_eq!((p.tier, p.to_next_kwh), (2, Some(dec!(89.99))));
        let p = position(&t, dec!(300));
        assert_eq!((p.tier, p.to_next_kwh, p.band_from_kwh), (3, None, dec!(260)));
        assert_eq!(p.thresholds, vec![dec!(170), dec!(260)]);
        assert_eq!(p.counter, "monthly");
    }

    #[test]
    fn the_builtin_annual_ladder_reads_the_year_to_date() {
        let book = crate::tariff::TariffBook::builtin();
        let t = book.get("hlj-residential-annual").expect("builtin annual tariff");
        let tiers = t.versions.last().and_then(|v| v.tiers.clone()).expect("tiers");
        let p = position(&tiers, dec!(100));
        assert_eq!((p.tier, p.counter), (1, "annual"));
        let top = *p.thresholds.last().expect("a threshold");
        assert_eq!(position(&tiers, top + dec!(1)).tier as usize, p.thresholds.len() + 1);
        assert_eq!(position(&tiers, dec!(-5)).counter_kwh, dec!(0));
    }
}
