//! The government-fund remittance report (政府性基金及附加解缴报表): how much of each fund and
//! surcharge the bureau collected inside its electricity prices over one or more billing months,
//! and so has to pass on.
//!
//! The funds are contained in the catalogue price (销售电价 = 上网电价 + 输配电价 + … + 政府性基金及附加,
//! 2005 Interim Measures on sales prices, Art. 6; billing-rules.md §4: "the CIS must store the
//! per-kWh split for remittance"). Each tariff version lists its funds with a rate in yuan/kWh
//! (`[[versions.funds]]` of `data/tariffs/*.toml`).
//!
//! **Basis.** A fund is owed on the kWh billed: billed kWh × the rate of the tariff version in force
//! over the bill's consumption days, the kWh split by days over the versions when a version changes
//! inside them, exactly as the bill calculation splits them — the report calls
//! [`super::calc::fund_lines`], the code a bill's own fund lines come from, so the rule is written
//! once. Only live bills count: a cancelled revision does not, its replacement (退补) does. The input
//! is what the store sums: the live bills of a month grouped by tariff and consumption dates
//! ([`FundBase`]), so bills priced alike are priced together.
//!
//! **Rounding.** Like a bill line, each line of the report — one billing month, one tariff version,
//! one fund — is kWh × rate rounded half-up to the fen once; every other figure is a sum of lines,
//! so the tables add up (DESIGN.md, "Money"). A fund row that sums several lines may therefore
//! differ from its kWh × rate by up to half a fen per line.
//!
//! **Reconciliation.** Every bill already rounded its own fund lines (`funds_fen` of the bill). The
//! report puts the sum of those beside its own figure, per tariff, per month and in total, and shows
//! the difference: it comes from rounding per bill instead of per line of the report (and, for the
//! credit of an over-estimate, from the earlier month's prices the bill settled at). It is shown,
//! never spread or hidden. Groups that cannot be priced (a tariff missing from the book, dates the
//! tariff does not cover) are listed with the reason and their bills' own funds, not skipped.

use super::calc::{fund_lines, line_amount, BillPeriod};
use super::TariffBook;
use crate::error::FieldError;
use crate::i18n::Text;
use crate::money::Fen;
use jiff::civil::Date;
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::BTreeMap;

/// Live bills of one billing month, tariff and consumption period, summed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FundBase {
    pub period: BillPeriod,
    pub tariff_id: String,
    /// First and last day of consumption of these bills.
    pub start: Date,
    pub end: Date,
    pub bills: u64,
    /// Billed kWh (negative for a credit).
    pub kwh: Decimal,
    /// The sum of the bills' own government funds, each bill rounded on its own.
    pub billed_funds: Fen,
}

/// One fund at one rate, over every tariff carrying it: what is remitted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FundRow {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    /// Yuan per kWh.
    pub rate: Decimal,
    /// kWh subject to the fund at this rate.
    pub kwh: Decimal,
    pub amount: Fen,
    /// The rate is marked unverified in a tariff file.
    pub unverified: bool,
}

/// One fund of one tariff version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TariffFundRow {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    pub rate: Decimal,
    /// The tariff version the rate comes from.
    pub version_from: Date,
    pub kwh: Decimal,
    pub amount: Fen,
    pub unverified: bool,
}

/// A tariff's bills, its funds, and the reconciliation against the bills' own funds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TariffRow {
    pub tariff_id: String,
    pub name_zh: String,
    pub name_en: String,
    pub bills: u64,
    pub kwh: Decimal,
    /// The report's funds of this tariff (sum of `funds`).
    pub amount: Fen,
    /// The bills' own funds.
    pub billed_funds: Fen,
    /// `amount − billed_funds`: the per-bill rounding difference.
    pub difference: Fen,
    pub funds: Vec<TariffFundRow>,
}

/// A billing month of the report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MonthRow {
    pub period: BillPeriod,
    pub bills: u64,
    pub kwh: Decimal,
    pub amount: Fen,
    pub billed_funds: Fen,
    pub difference: Fen,
}

/// Bills the report could not price, with why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UnpricedRow {
    pub period: BillPeriod,
    pub tariff_id: String,
    pub start: Date,
    pub end: Date,
    pub bills: u64,
    pub kwh: Decimal,
    pub billed_funds: Fen,
    pub reason: Text,
}

/// The remittance report over the billing months `from..=to`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Remittance {
    pub from: BillPeriod,
    pub to: BillPeriod,
    /// By fund code, then rate.
    pub funds: Vec<FundRow>,
    /// By tariff id.
    pub tariffs: Vec<TariffRow>,
    /// Months with bills, oldest first.
    pub months: Vec<MonthRow>,
    pub unpriced: Vec<UnpricedRow>,
    /// Live bills counted (priced or not).
    pub bills: u64,
    /// Their kWh.
    pub kwh: Decimal,
    /// The funds to remit: the sum of the lines.
    pub amount: Fen,
    /// The live bills' own funds, priced groups and unpriced ones.
    pub billed_funds: Fen,
    /// Of `billed_funds`, the part of the bills the report could not price.
    pub unpriced_funds: Fen,
    /// `amount − (billed_funds − unpriced_funds)`: the per-bill rounding difference of the priced
    /// bills.
    pub difference: Fen,
}

#[derive(Default)]
struct Acc {
    bills: u64,
    kwh: Decimal,
    billed: Fen,
}

impl Acc {
    fn add(&mut self, b: &FundBase) {
        self.bills += b.bills;
        self.kwh += b.kwh;
        self.billed += b.billed_funds;
    }
}

/// A line of the report before rounding: (month, tariff, version, fund) → kWh.
struct Line {
    name: Text,
    rate: Decimal,
    unverified: bool,
    kwh: Decimal,
}

/// Builds the report from the store's groups and the tariff book (see the module documentation).
/// Fails only on an amount out of range (a corrupt kWh sum).
pub fn remittance(
    book: &TariffBook,
    from: BillPeriod,
    to: BillPeriod,
    bases: &[FundBase],
) -> Result<Remittance, FieldError> {
    let mut lines: BTreeMap<(BillPeriod, &str, Date, String), Line> = BTreeMap::new();
    let mut tariffs: BTreeMap<&str, Acc> = BTreeMap::new();
    let mut months: BTreeMap<BillPeriod, Acc> = BTreeMap::new();
    let mut unpriced = Vec::new();
    let mut all = Acc::default();
    for b in bases {
        all.add(b);
        let priced = match book.get(&b.tariff_id) {
            None => Err(Text::new(
                format!("电价目录中没有电价 {}", b.tariff_id),
                format!("the tariff book has no tariff {}", b.tariff_id),
            )),
            Some(t) => fund_lines(t, b.start, b.end, b.kwh).map_err(|e| e.message),
        };
        match priced {
            Err(reason) => unpriced.push(UnpricedRow {
                period: b.period,
                tariff_id: b.tariff_id.clone(),
                start: b.start,
                end: b.end,
                bills: b.bills,
                kwh: b.kwh,
                billed_funds: b.billed_funds,
                reason,
            }),
            Ok(fl) => {
                tariffs.entry(b.tariff_id.as_str()).or_default().add(b);
                months.entry(b.period).or_default().add(b);
                for f in fl {
                    let line =
                        lines.entry((b.period, b.tariff_id.as_str(), f.version_from, f.code)).or_insert(
                            Line { name: f.name, rate: f.rate, unverified: f.unverified, kwh: Decimal::ZERO },
                        );
                    line.kwh += f.kwh;
                }
            }
        }
    }

    let mut funds: BTreeMap<(String, Decimal), FundRow> = BTreeMap::new();
    let mut tariff_funds: BTreeMap<(&str, String, Date), TariffFundRow> = BTreeMap::new();
    let mut tariff_amount: BTreeMap<&str, Fen> = BTreeMap::new();
    let mut month_amount: BTreeMap<BillPeriod, Fen> = BTreeMap::new();
    for ((period, tariff, version_from, code), l) in &lines {
        let amount = line_amount(l.kwh, l.rate)?;
        let row = funds.entry((code.clone(), l.rate)).or_insert_with(|| FundRow {
            code: code.clone(),
            name_zh: l.name.zh.clone(),
            name_en: l.name.en.clone(),
            rate: l.rate.normalize(),
            kwh: Decimal::ZERO,
            amount: Fen::ZERO,
            unverified: false,
        });
        row.kwh += l.kwh;
        row.amount += amount;
        row.unverified |= l.unverified;
        let row =
            tariff_funds.entry((*tariff, code.clone(), *version_from)).or_insert_with(|| TariffFundRow {
                code: code.clone(),
                name_zh: l.name.zh.clone(),
                name_en: l.name.en.clone(),
                rate: l.rate.normalize(),
                version_from: *version_from,
                kwh: Decimal::ZERO,
                amount: Fen::ZERO,
                unverified: l.unverified,
            });
        row.kwh += l.kwh;
        row.amount += amount;
        *tariff_amount.entry(*tariff).or_default() += amount;
        *month_amount.entry(*period).or_default() += amount;
    }

    let tariffs: Vec<TariffRow> = tariffs
        .into_iter()
        .map(|(id, acc)| {
            let amount = tariff_amount.get(id).copied().unwrap_or_default();
            let t = book.get(id);
            TariffRow {
                tariff_id: id.to_string(),
                name_zh: t.map(|t| t.name_zh.clone()).unwrap_or_default(),
                name_en: t.map(|t| t.name_en.clone()).unwrap_or_default(),
                bills: acc.bills,
                kwh: acc.kwh.normalize(),
                amount,
                billed_funds: acc.billed,
                difference: amount - acc.billed,
                funds: tariff_funds
                    .iter()
                    .filter(|((t, _, _), _)| *t == id)
                    .map(|(_, r)| TariffFundRow { kwh: r.kwh.normalize(), ..r.clone() })
                    .collect(),
            }
        })
        .collect();
    let months = months
        .into_iter()
        .map(|(period, acc)| {
            let amount = month_amount.get(&period).copied().unwrap_or_default();
            MonthRow {
                period,
                bills: acc.bills,
                kwh: acc.kwh.normalize(),
                amount,
                billed_funds: acc.billed,
                difference: amount - acc.billed,
            }
        })
        .collect();
    let amount: Fen = tariff_amount.values().copied().sum();
    let unpriced_funds: Fen = unpriced.iter().map(|u: &UnpricedRow| u.billed_funds).sum();
    Ok(Remittance {
        from,
        to,
        funds: funds.into_values().map(|r| FundRow { kwh: r.kwh.normalize(), ..r }).collect(),
        tariffs,
        months,
        unpriced,
        bills: all.bills,
        kwh: all.kwh.normalize(),
        amount,
        billed_funds: all.billed,
        unpriced_funds,
        difference: amount - (all.billed - unpriced_funds),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tariff::{calculate, BillInput};
    use jiff::civil::date;
    use rust_decimal_macros::dec;

    fn march() -> BillPeriod {
        BillPeriod::new("period", 2026, 3).unwrap()
    }

    fn base(tariff: &str, bills: u64, kwh: Decimal, billed: i64) -> FundBase {
        FundBase {
            period: march(),
            tariff_id: tariff.into(),
            start: date(2026, 3, 1),
            end: date(2026, 3, 31),
            bills,
            kwh,
            billed_funds: Fen(billed),
        }
    }

    /// The funds of one bill as the bill calculation gives them, in fen.
    fn bill_funds(tariff: &str, kwh: Decimal) -> i64 {
        let t = TariffBook::builtin();
        calculate(t.get(tariff).unwrap(), &BillInput::month(march(), kwh)).unwrap().funds_total.0
    }

    /// Worked by hand. Residential (renewable 0.001, reservoir-large 0.0062, reservoir-local 0.0005
    /// yuan/kWh): three bills of 125 kWh, each 0.125→0.13 + 0.775→0.78 + 0.0625→0.06 = 0.97, so
    /// 2.91 billed; the report's lines on 375 kWh: 0.375→0.38 + 2.325→2.33 + 0.1875→0.19 = 2.90, a
    /// difference of −0.01. Commercial (renewable 0.019): 1000 kWh → 19.00 + 6.20 + 0.50 = 25.70
    /// and 333 kWh → 6.327→6.33 + 2.0646→2.06 + 0.1665→0.17 = 8.56, 34.26 billed; the report on
    /// 1333 kWh: 25.327→25.33 + 8.2646→8.26 + 0.6665→0.67 = 34.26, no difference.
    #[test]
    fn two_tariffs_by_hand() {
        assert_eq!(bill_funds("hlj-residential", dec!(125)), 97);
        assert_eq!(bill_funds("hlj-commercial", dec!(1000)), 2570);
        assert_eq!(bill_funds("hlj-commercial", dec!(333)), 856);
        let bases = [
            base("hlj-commercial", 2, dec!(1333), 2570 + 856),
            base("hlj-residential", 3, dec!(375), 3 * 97),
        ];
        let r = remittance(&TariffBook::builtin(), march(), march(), &bases).unwrap();
        let funds: Vec<(&str, Decimal, Decimal, i64)> =
            r.funds.iter().map(|f| (f.code.as_str(), f.rate, f.kwh, f.amount.0)).collect();
        assert_eq!(
            funds,
            [
                ("renewable", dec!(0.001), dec!(375), 38),
                ("renewable", dec!(0.019), dec!(1333), 2533),
                // 233 + 826 on two lines; 1708 × 0.0062 = 10.5896 would round the same.
                ("reservoir-large", dec!(0.0062), dec!(1708), 1059),
                // 19 + 67 = 86 on two lines, where 1708 × 0.0005 = 0.854 → 85: lines are rounded,
                // rows are sums.
                ("reservoir-local", dec!(0.0005), dec!(1708), 86),
            ]
        );
        assert_eq!(r.funds[0].name_zh, "可再生能源电价附加");
        let t: Vec<(&str, u64, i64, i64, i64)> = r
            .tariffs
            .iter()
            .map(|t| (t.tariff_id.as_str(), t.bills, t.amount.0, t.billed_funds.0, t.difference.0))
            .collect();
        assert_eq!(t, [("hlj-commercial", 2, 3426, 3426, 0), ("hlj-residential", 3, 290, 291, -1)]);
        let res = &r.tariffs[1];
        assert_eq!(
            res.funds.iter().map(|f| (f.code.as_str(), f.amount.0)).collect::<Vec<_>>(),
            [("renewable", 38), ("reservoir-large", 233), ("reservoir-local", 19)]
        );
        assert_eq!(
            (r.bills, r.kwh, r.amount.0, r.billed_funds.0, r.difference.0),
            (5, dec!(1708), 3716, 3717, -1)
        );
        assert_eq!(r.months.len(), 1);
        assert_eq!((r.months[0].amount.0, r.months[0].difference.0), (3716, -1));
        assert!(r.unpriced.is_empty());
        assert_eq!(r.unpriced_funds, Fen::ZERO);
    }

    const TWO_VERSIONS: &str = r#"
id = "t-two"
name_zh = "两版本"
name_en = "Two versions"
class = "industrial_commercial"
kind = "single_part"

[[versions]]
effective_from = 2026-01-01
[versions.energy]
single = "0.5"
[[versions.funds]]
code = "x"
name_zh = "基金"
name_en = "Fund"
rate = "0.01"

[[versions]]
effective_from = 2026-03-16
[versions.energy]
single = "0.6"
[[versions.funds]]
code = "x"
name_zh = "基金"
name_en = "Fund"
rate = "0.02"
"#;

    /// A rate that changes on 16 March: the kWh of March (31 days) are split 15 : 16 as on a bill.
    /// One bill of 100 kWh: 48.39 kWh × 0.01 = 0.4839 → 0.48 and 51.61 × 0.02 = 1.0322 → 1.03,
    /// 1.51. Two such bills billed 3.02; the report splits 200 kWh into 96.77 and 103.23:
    /// 0.9677 → 0.97 and 2.0646 → 2.06, 3.03, a difference of +0.01.
    #[test]
    fn a_version_change_is_prorated_by_days_like_the_bill() {
        let book = TariffBook::from_texts([("t-two.toml", TWO_VERSIONS)]).unwrap();
        let one = calculate(book.get("t-two").unwrap(), &BillInput::month(march(), dec!(100))).unwrap();
        assert_eq!(one.funds_total, Fen(151));
        let r = remittance(&book, march(), march(), &[base("t-two", 2, dec!(200), 302)]).unwrap();
        let rows: Vec<(Decimal, Decimal, i64)> =
            r.funds.iter().map(|f| (f.rate, f.kwh, f.amount.0)).collect();
        assert_eq!(rows, [(dec!(0.01), dec!(96.77), 97), (dec!(0.02), dec!(103.23), 206)]);
        let versions: Vec<Date> = r.tariffs[0].funds.iter().map(|f| f.version_from).collect();
        assert_eq!(versions, [date(2026, 1, 1), date(2026, 3, 16)]);
        assert_eq!((r.amount.0, r.billed_funds.0, r.difference.0), (303, 302, 1));
    }

    /// A tariff missing from the book, or dates before the tariff started, are listed with the
    /// reason and their bills' own funds, and kept out of the difference.
    #[test]
    fn unpriced_groups_are_listed_not_skipped() {
        let mut early = base("hlj-commercial", 1, dec!(10), 26);
        early.start = date(2020, 1, 1);
        early.end = date(2020, 1, 31);
        let bases = [base("gone", 4, dec!(400), 500), early, base("hlj-residential", 3, dec!(375), 291)];
        let r = remittance(&TariffBook::builtin(), march(), march(), &bases).unwrap();
        assert_eq!(r.unpriced.len(), 2);
        assert_eq!(r.unpriced[0].reason.en, "the tariff book has no tariff gone");
        assert!(r.unpriced[1].reason.zh.contains("尚未生效"), "{:?}", r.unpriced[1].reason);
        assert_eq!((r.bills, r.billed_funds.0, r.unpriced_funds.0), (8, 817, 526));
        assert_eq!((r.amount.0, r.difference.0), (290, -1));
        assert_eq!(r.tariffs.len(), 1);
    }

    /// The credit of an over-estimate is negative kWh; its funds are negative.
    #[test]
    fn a_credit_gives_funds_back() {
        let r = remittance(
            &TariffBook::builtin(),
            march(),
            march(),
            &[base("hlj-residential", 1, dec!(-125), -97)],
        )
        .unwrap();
        assert_eq!(r.amount.0, -97);
        assert_eq!(r.difference.0, 0);
    }
}
