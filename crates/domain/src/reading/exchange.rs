//! Meters exchanged inside a billing period (换表): the period's consumption is what the old meter
//! registered until it was removed plus what the new one registered since it was installed, each
//! register advance times its own meter's multiplier (倍率):
//!
//! `kWh = (old final − old opening) × old multiplier + (new closing − new initial) × new multiplier`
//!
//! This is the ordinary rule of consumption (register advance × multiplier, see the module above)
//! applied to each meter separately: nothing registered on a meter after its final reading, nothing
//! before its initial reading. A meter exchanged twice in one period (a faulty replacement taken out
//! again) adds a part for each meter in between, from its installation to its removal:
//!
//! `kWh = Σ (closing − opening) × multiplier`, over the meters in the order they were in service.
//!
//! Every part is checked like any reading (a reverse or rollover on any is held), and the bill shows
//! them all.

use super::{consumption, Consumption, Held, MeterSpec, Registers};
use rust_decimal::Decimal;
use serde::Serialize;

/// One meter's part of a period: its constants and the register values at both ends of its part.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MeterPart {
    pub meter: MeterSpec,
    pub opening: Registers,
    /// The opening value was an estimate (估抄): a closing value below it is an over-estimate.
    pub opening_estimated: bool,
    pub closing: Registers,
}

/// The consumption of a period with exchanges: each meter's part, in the order the meters were in
/// service (the active meter last), and their sum.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ExchangedConsumption {
    pub parts: Vec<Consumption>,
    pub total: Consumption,
}

/// The consumption of a period in which meters were exchanged: `parts` are the meters in the order
/// they were in service, the first from the period's opening reading to its removal, any between
/// from installation to removal, the last (the active meter) from installation to the closing
/// reading.
///
/// Time-of-use quantities are summed only when every meter gives them (an old meter's final
/// reading usually records the total register only; the period is then billed without the
/// split); the maximum demand is the largest of the meters' (the period's maximum); reactive
/// energy is summed when every meter gives it.
pub fn exchanged_consumption(parts: &[MeterPart]) -> Result<ExchangedConsumption, Held> {
    let parts = parts
        .iter()
        .map(|p| consumption(p.meter, &p.opening, p.opening_estimated, &p.closing))
        .collect::<Result<Vec<_>, _>>()?;
    let sum = |f: fn(&Consumption) -> Option<Decimal>| {
        parts.iter().map(f).try_fold(Decimal::ZERO, |acc, q| q.map(|q| acc + q))
    };
    let split = match (sum(|c| c.peak_kwh), sum(|c| c.flat_kwh), sum(|c| c.valley_kwh)) {
        (Some(p), Some(f), Some(v)) => (Some(p), Some(f), Some(v)),
        _ => (None, None, None),
    };
    let total = Consumption {
        kwh: parts.iter().map(|c| c.kwh).sum::<Decimal>().normalize(),
        peak_kwh: split.0,
        flat_kwh: split.1,
        valley_kwh: split.2,
        max_demand_kw: parts.iter().filter_map(|c| c.max_demand_kw).max(),
        kvarh: sum(|c| c.kvarh),
    };
    Ok(ExchangedConsumption { parts, total })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reading::ExceptionKind;
    use rust_decimal_macros::dec;

    fn part(multiplier: i64, opening: Decimal, closing: Decimal) -> MeterPart {
        MeterPart {
            meter: MeterSpec { multiplier, digits: 6 },
            opening: Registers { total: opening, ..Default::default() },
            opening_estimated: false,
            closing: Registers { total: closing, ..Default::default() },
        }
    }

    #[test]
    fn each_meter_with_its_own_multiplier() {
        // Old meter read 1,234.5 at the last reading day and 1,300.0 when removed: 65.5 units,
        // ×40 = 2,620 kWh. The new meter starts at 0.8 and reads 12.3 at this reading day: 11.5
        // units, ×80 = 920 kWh. The period: 2,620 + 920 = 3,540 kWh.
        let c =
            exchanged_consumption(&[part(40, dec!(1234.5), dec!(1300.0)), part(80, dec!(0.8), dec!(12.3))])
                .unwrap();
        assert_eq!((c.parts[0].kwh, c.parts[1].kwh), (dec!(2620), dec!(920)));
        assert_eq!(c.total.kwh, dec!(3540));
    }

    #[test]
    fn a_household_exchange_with_direct_meters() {
        // 5,012 → 5,100 on the old meter (88 kWh), 0 → 61 on the new one (61 kWh): 149 kWh.
        let c =
            exchanged_consumption(&[part(1, dec!(5012), dec!(5100)), part(1, dec!(0), dec!(61))]).unwrap();
        assert_eq!((c.parts[0].kwh, c.parts[1].kwh, c.total.kwh), (dec!(88), dec!(61), dec!(149)));
        assert_eq!(c.total.peak_kwh, None);
    }

    #[test]
    fn a_reverse_on_either_meter_is_held() {
        let h = exchanged_consumption(&[part(1, dec!(5012), dec!(5000)), part(1, dec!(0), dec!(61))])
            .unwrap_err();
        assert_eq!(h.kind, ExceptionKind::Reverse);
        let h = exchanged_consumption(&[part(1, dec!(5012), dec!(5100)), part(1, dec!(70), dec!(61))])
            .unwrap_err();
        assert_eq!(h.kind, ExceptionKind::Reverse);
    }

    #[test]
    fn two_exchanges_add_three_parts() {
        // Old ×40: 1,234.5 → 1,300.0 at removal = 65.5 × 40 = 2,620 kWh. The meter put in (×1)
        // starts at 3 and is taken out again at 503: 500 kWh. The last one (×80) starts at 0.8 and
        // reads 12.3 at the reading day: 11.5 × 80 = 920 kWh. The period: 2,620 + 500 + 920 =
        // 4,040 kWh.
        let parts = [
            part(40, dec!(1234.5), dec!(1300.0)),
            part(1, dec!(3), dec!(503)),
            part(80, dec!(0.8), dec!(12.3)),
        ];
        let c = exchanged_consumption(&parts).unwrap();
        let kwh: Vec<Decimal> = c.parts.iter().map(|p| p.kwh).collect();
        assert_eq!(kwh, vec![dec!(2620), dec!(500), dec!(920)]);
        assert_eq!(c.total.kwh, dec!(4040));
        // A reverse on the meter in between holds the period.
        let parts = [
            part(40, dec!(1234.5), dec!(1300.0)),
            part(1, dec!(503), dec!(3)),
            part(80, dec!(0.8), dec!(12.3)),
        ];
        assert_eq!(exchanged_consumption(&parts).unwrap_err().kind, ExceptionKind::Reverse);
    }

    #[test]
    fn time_of_use_only_when_both_meters_split() {
        let tou = |t: Decimal, p: Decimal, f: Decimal, v: Decimal| Registers {
            total: t,
            peak: Some(p),
            flat: Some(f),
            valley: Some(v),
            ..Default::default()
        };
        let m = MeterSpec { multiplier: 1, digits: 6 };
        // Old: 100/30/40/30 → 160/50/60/50 (20+20+20 = 60); new: 0 → 40/10/20/10.
        let old = MeterPart {
            meter: m,
            opening: tou(dec!(100), dec!(30), dec!(40), dec!(30)),
            opening_estimated: false,
            closing: tou(dec!(160), dec!(50), dec!(60), dec!(50)),
        };
        let new = MeterPart {
            meter: m,
            opening: tou(dec!(0), dec!(0), dec!(0), dec!(0)),
            opening_estimated: false,
            closing: tou(dec!(40), dec!(10), dec!(20), dec!(10)),
        };
        let c = exchanged_consumption(&[old, new]).unwrap();
        assert_eq!(c.total.kwh, dec!(100));
        assert_eq!(
            (c.total.peak_kwh, c.total.flat_kwh, c.total.valley_kwh),
            (Some(dec!(30)), Some(dec!(40)), Some(dec!(30)))
        );
        // The old meter's final reading with its total only: no split for the period.
        let old = MeterPart { closing: Registers { total: dec!(160), ..Default::default() }, ..old };
        let c = exchanged_consumption(&[old, new]).unwrap();
        assert_eq!(c.total.kwh, dec!(100));
        assert_eq!(c.total.peak_kwh, None);
    }
}
