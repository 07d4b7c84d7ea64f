//! Late-payment fees (电费违约金).
//!
//! The rule, 《供电营业规则》(1996) Art. 98 (read in reposts [S]; the 2024 edition keeps the rates
//! [R]): a customer who pays after the agreed date pays a fee counted from the day after the due
//! date up to and including the day of payment, each day
//! - residential customers: 1 ‰ of the arrears;
//! - other customers: 2 ‰ of arrears of the current year, 3 ‰ of arrears from earlier years;
//!
//! on the arrears only (never on earlier fees), added up day by day; a total under 1 yuan is charged
//! as 1 yuan. The rates, the minimum and their dates are data (`data/late-fees/*.toml`).
//!
//! Rounding: the breakdown groups days with the same arrears and rate; each group is rounded half-up
//! to the fen once and the fee is the sum of the groups, so the breakdown adds up to the fee.

use crate::error::FieldError;
use crate::i18n::Text;
use crate::money::Fen;
use crate::register::CustomerClass;
use crate::tariff::file::{check_dates_increase, parse_toml, Node};
use jiff::civil::Date;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// Errors of a late-fee parameter file name the file and the key, like tariff files.
pub use crate::tariff::TariffFileError as LateFeeFileError;

/// The two rate classes of Art. 98.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LateFeeClass {
    /// 居民用户
    Residential,
    /// 其他用户
    Other,
}

impl From<CustomerClass> for LateFeeClass {
    fn from(c: CustomerClass) -> LateFeeClass {
        match c {
            CustomerClass::Residential => LateFeeClass::Residential,
            _ => LateFeeClass::Other,
        }
    }
}

impl LateFeeClass {
    pub fn parse(text: &str) -> Result<LateFeeClass, FieldError> {
        match text.trim() {
            "residential" | "居民" => Ok(LateFeeClass::Residential),
            "other" | "其他" => Ok(LateFeeClass::Other),
            t => Err(FieldError::invalid(
                "class",
                format!("无法识别的用户类别“{t}”，应为：residential, other"),
                format!("unknown class '{t}', expected one of: residential, other"),
            )),
        }
    }
}

const BUILTIN: (&str, &str) = ("late-fees.toml", include_str!("../../../data/late-fees/late-fees.toml"));

/// The dated late-fee parameters.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LateFeeRules {
    pub source: String,
    pub versions: Vec<LateFeeVersion>,
}

/// One dated set of parameters. Rates are fractions per day (0.001 for 1 ‰).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LateFeeVersion {
    pub effective_from: Date,
    pub rule: Text,
    pub unverified: bool,
    pub residential_rate: Decimal,
    pub other_current_year_rate: Decimal,
    pub other_earlier_years_rate: Decimal,
    /// A fee above zero but below this is charged as this; `None` for no minimum.
    pub minimum_fee: Option<Fen>,
}

impl LateFeeVersion {
    /// The daily rate for a day of delay in `day_year` on arrears of `arrears_year`.
    pub fn rate(&self, class: LateFeeClass, arrears_year: i16, day_year: i16) -> Decimal {
        match class {
            LateFeeClass::Residential => self.residential_rate,
            LateFeeClass::Other if day_year > arrears_year => self.other_earlier_years_rate,
            LateFeeClass::Other => self.other_current_year_rate,
        }
    }
}

impl LateFeeRules {
    /// The parameters shipped with the program (tested to load; never panics: a broken builtin
    /// file would give empty rules, under which no fee accrues, and the test fails first).
    pub fn builtin() -> &'static LateFeeRules {
        static RULES: std::sync::OnceLock<LateFeeRules> = std::sync::OnceLock::new();
        RULES.get_or_init(|| {
            LateFeeRules::parse(BUILTIN.0, BUILTIN.1)
                .unwrap_or(LateFeeRules { source: String::new(), versions: Vec::new() })
        })
    }

    pub fn parse(file: &str, text: &str) -> Result<LateFeeRules, LateFeeFileError> {
        let table = parse_toml(file, text)?;
        rules_from(&table).map_err(|e| LateFeeFileError::at(file, e))
    }

    /// Reads an operator's replacement file.
    pub fn load_file(path: impl AsRef<std::path::Path>) -> Result<LateFeeRules, LateFeeFileError> {
        let p = path.as_ref();
        let text = std::fs::read_to_string(p).map_err(|e| LateFeeFileError {
            file: p.display().to_string(),
            field: String::new(),
            code: "io",
            message: Text::new(format!("无法读取：{e}"), format!("cannot read: {e}")),
        })?;
        LateFeeRules::parse(&p.display().to_string(), &text)
    }

    pub fn version_on(&self, day: Date) -> Option<&LateFeeVersion> {
        self.versions.iter().rev().find(|v| v.effective_from <= day)
    }
}

fn rules_from(table: &toml::Table) -> Result<LateFeeRules, FieldError> {
    let root = Node::root(table);
    root.only_keys(&["source", "note", "versions"])?;
    let per_mille = |n: &Node<'_>, k: &str| -> Result<Decimal, FieldError> {
        let v = n.req_non_negative(k)?;
        if v > Decimal::ONE_HUNDRED {
            return Err(FieldError::invalid(
                &n.key(k),
                format!("日费率（‰）过大：{v}"),
                format!("daily rate (per mille) too large: {v}"),
            ));
        }
        Ok(v / Decimal::ONE_THOUSAND)
    };
    let mut versions = Vec::new();
    let mut dated = Vec::new();
    for v in root.tables("versions")? {
        v.only_keys(&[
            "effective_from",
            "rule_zh",
            "rule_en",
            "unverified",
            "residential_per_mille",
            "other_current_year_per_mille",
            "other_earlier_years_per_mille",
            "minimum_fee",
            "note",
        ])?;
        let effective_from = v.req_date("effective_from")?;
        dated.push((v.key("effective_from"), effective_from));
        let minimum_fee = match v.opt_non_negative("minimum_fee")? {
            None => None,
            Some(m) => Some(Fen::parse_yuan(&v.key("minimum_fee"), &m.to_string())?),
        };
        versions.push(LateFeeVersion {
            effective_from,
            rule: Text::new(v.req_str("rule_zh")?, v.req_str("rule_en")?),
            unverified: v.opt_bool("unverified")?.unwrap_or(false),
            residential_rate: per_mille(&v, "residential_per_mille")?,
            other_current_year_rate: per_mille(&v, "other_current_year_per_mille")?,
            other_earlier_years_rate: per_mille(&v, "other_earlier_years_per_mille")?,
            minimum_fee,
        });
    }
    if versions.is_empty() {
        return Err(FieldError::required("versions"));
    }
    check_dates_increase(&dated)?;
    Ok(LateFeeRules { source: root.opt_str("source")?.unwrap_or("").to_string(), versions })
}

/// Arrears outstanding over a range of days of delay (both ends included).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArrearsSpan {
    pub from: Date,
    pub to: Date,
    pub arrears: Fen,
}

/// A payment towards the arrears of the bill.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payment {
    pub date: Date,
    pub amount: Fen,
}

/// Days with the same arrears and daily rate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LateFeeLine {
    pub from: Date,
    pub to: Date,
    pub days: i64,
    pub arrears: Fen,
    /// Per mille per day (2 for 2 ‰).
    pub rate_per_mille: Decimal,
    /// arrears × rate × days, rounded half-up to the fen.
    pub amount: Fen,
    pub rule: Text,
}

/// A late fee: `{"days": 15, "fee": "1.50", ...}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LateFeeQuote {
    /// Days of delay charged (days with arrears outstanding).
    pub days: i64,
    /// The fee to charge, after the minimum.
    pub fee: Fen,
    /// The sum of `lines` before the minimum.
    pub accrued: Fen,
    /// True when the fee was raised to the minimum (不足1元按1元收取).
    pub minimum_applied: bool,
    pub lines: Vec<LateFeeLine>,
    /// True when a parameter used is marked unverified in its data file.
    pub unverified: bool,
}

/// The fee on `arrears` due on `due` and paid (or counted) on `on`, with the builtin parameters;
/// the arrears are taken to belong to the year of the due date. No fee when `on` is not after
/// `due` or there are no arrears.
pub fn quote(class: LateFeeClass, due: Date, on: Date, arrears: Fen) -> LateFeeQuote {
    quote_with(LateFeeRules::builtin(), class, due.year(), due, on, arrears)
}

/// [`quote`] with explicit parameters and the year the arrears belong to.
pub fn quote_with(
    rules: &LateFeeRules,
    class: LateFeeClass,
    arrears_year: i16,
    due: Date,
    on: Date,
    arrears: Fen,
) -> LateFeeQuote {
    let spans = match due.tomorrow() {
        Ok(first) if on >= first && arrears > Fen::ZERO => vec![ArrearsSpan { from: first, to: on, arrears }],
        _ => Vec::new(),
    };
    accrue(rules, class, arrears_year, &spans, on)
}

/// The fee when part of the arrears was paid during the delay. The fee runs "to the day of
/// payment" (Art. 98), so a payment's own day still accrues on the balance before it; from the next
/// day on, the smaller balance accrues. Payments made on or before the due date just reduce the
/// arrears. Payments larger than what is owed are refused.
pub fn quote_with_payments(
    rules: &LateFeeRules,
    class: LateFeeClass,
    arrears_year: i16,
    due: Date,
    arrears: Fen,
    payments: &[Payment],
    on: Date,
) -> Result<LateFeeQuote, FieldError> {
    let spans = spans_after_payments(due, arrears, payments, on)?;
    Ok(accrue(rules, class, arrears_year, &spans, on))
}

/// Turns arrears and payments into the spans of days of delay with their balance.
pub fn spans_after_payments(
    due: Date,
    arrears: Fen,
    payments: &[Payment],
    on: Date,
) -> Result<Vec<ArrearsSpan>, FieldError> {
    if arrears.is_negative() {
        return Err(FieldError::invalid("arrears", "欠费不能为负数", "arrears must not be negative"));
    }
    let mut payments = payments.to_vec();
    payments.sort_by_key(|p| p.date);
    let paid: Fen = payments.iter().map(|p| p.amount).sum();
    if payments.iter().any(|p| p.amount.is_negative()) || paid > arrears {
        return Err(FieldError::invalid(
            "payments",
            format!("缴费合计 {paid} 超过欠费 {arrears} 或含负数"),
            format!("payments total {paid}, more than the arrears {arrears}, or include a negative amount"),
        ));
    }
    let Ok(first) = due.tomorrow() else { return Ok(Vec::new()) };
    let mut balance = arrears;
    let mut spans = Vec::new();
    let mut from = first;
    for p in &payments {
        if p.date < from {
            // Paid before this stretch of delay started (on time, or the same day as another payment).
            balance -= p.amount;
            continue;
        }
        let to = p.date.min(on);
        if to >= from && balance > Fen::ZERO {
            spans.push(ArrearsSpan { from, to, arrears: balance });
        }
        balance -= p.amount;
        if p.date >= on {
            return Ok(spans);
        }
        from = p.date.tomorrow().expect("a payment date before `on` has a tomorrow");
    }
    if on >= from && balance > Fen::ZERO {
        spans.push(ArrearsSpan { from, to: on, arrears: balance });
    }
    Ok(spans)
}

/// Adds up the fee day by day over `spans`, each day at the rate of the version in force on it,
/// then applies the minimum of the version in force on `on`.
pub fn accrue(
    rules: &LateFeeRules,
    class: LateFeeClass,
    arrears_year: i16,
    spans: &[ArrearsSpan],
    on: Date,
) -> LateFeeQuote {
    struct Open<'r> {
        from: Date,
        to: Date,
        days: i64,
        arrears: Fen,
        rate: Decimal,
        version: &'r LateFeeVersion,
    }
    let mut groups: Vec<Open> = Vec::new();
    let mut unverified = false;
    for s in spans {
        if s.arrears <= Fen::ZERO {
            continue;
        }
        let mut day = s.from;
        while day <= s.to {
            let Some(version) = rules.version_on(day) else {
                // Before the first rule there was no fee to charge.
                day = match day.tomorrow() {
                    Ok(d) => d,
                    Err(_) => break,
                };
                continue;
            };
            unverified |= version.unverified;
            let rate = version.rate(class, arrears_year, day.year());
            match groups.last_mut() {
                Some(g)
                    if g.arrears == s.arrears
                        && g.rate == rate
                        && std::ptr::eq(g.version, version)
                        && g.to.tomorrow().ok() == Some(day) =>
                {
                    g.to = day;
                    g.days += 1;
                }
                _ => groups.push(Open { from: day, to: day, days: 1, arrears: s.arrears, rate, version }),
            }
            day = match day.tomorrow() {
                Ok(d) => d,
                Err(_) => break,
            };
        }
    }
    let lines: Vec<LateFeeLine> = groups
        .into_iter()
        .map(|g| LateFeeLine {
            from: g.from,
            to: g.to,
            days: g.days,
            arrears: g.arrears,
            rate_per_mille: (g.rate * Decimal::ONE_THOUSAND).normalize(),
            amount: Fen::round_half_up(g.arrears.yuan() * g.rate * Decimal::from(g.days)),
            rule: g.version.rule.clone(),
        })
        .collect();
    let days = lines.iter().map(|l| l.days).sum();
    let accrued: Fen = lines.iter().map(|l| l.amount).sum();
    // Art. 98: 总额不足1元者按1元收取 — only when some fee accrued at all.
    let minimum = rules.version_on(on).and_then(|v| v.minimum_fee);
    let (fee, minimum_applied) = match minimum {
        Some(m) if days > 0 && accrued < m => (m, true),
        _ => (accrued, false),
    };
    LateFeeQuote { days, fee, accrued, minimum_applied, lines, unverified }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn d(y: i16, m: i8, day: i8) -> Date {
        Date::constant(y, m, day)
    }

    fn yuan(s: &str) -> Fen {
        Fen::parse_yuan("x", s).unwrap()
    }

    #[test]
    fn builtin_rules_load() {
        let r = LateFeeRules::parse(BUILTIN.0, BUILTIN.1).expect("builtin late-fee rules load");
        assert_eq!(&r, LateFeeRules::builtin());
        let v = r.version_on(d(2026, 1, 1)).unwrap();
        assert_eq!(v.effective_from, d(2024, 6, 1));
        assert_eq!(
            (v.residential_rate, v.other_current_year_rate, v.other_earlier_years_rate),
            (dec!(0.001), dec!(0.002), dec!(0.003))
        );
        assert_eq!(v.minimum_fee, Some(Fen(100)));
        assert!(v.unverified);
        assert_eq!(r.version_on(d(2000, 1, 1)).unwrap().effective_from, d(1996, 10, 8));
    }

    #[test]
    fn residential_one_per_mille_a_day_from_the_day_after_due() {
        // 100.00 yuan, due 10 Jan, paid 25 Jan: 11–25 Jan = 15 days × 1 ‰ × 100 = 1.50.
        let q = quote(LateFeeClass::Residential, d(2026, 1, 10), d(2026, 1, 25), yuan("100"));
        assert_eq!((q.days, q.fee, q.minimum_applied), (15, Fen(150), false));
        let json = serde_json::to_value(&q).unwrap();
        assert_eq!(
            (json["days"].clone(), json["fee"].clone()),
            (serde_json::json!(15), serde_json::json!("1.50"))
        );
        assert_eq!(q.lines[0].from, d(2026, 1, 11));
        // Paid on the due date or before: nothing.
        let q = quote(LateFeeClass::Residential, d(2026, 1, 10), d(2026, 1, 10), yuan("100"));
        assert_eq!((q.days, q.fee, q.minimum_applied), (0, Fen(0), false));
        // One day late.
        assert_eq!(
            quote(LateFeeClass::Residential, d(2026, 1, 10), d(2026, 1, 11), yuan("2000")).fee,
            Fen(200)
        );
    }

    #[test]
    fn other_customers_two_per_mille_on_current_year_arrears() {
        // 1000.00 yuan due 31 Mar, counted on 10 Apr: 10 days × 2 ‰ × 1000 = 20.00.
        let q = quote(LateFeeClass::Other, d(2026, 3, 31), d(2026, 4, 10), yuan("1000"));
        assert_eq!((q.days, q.fee), (10, Fen(2000)));
        assert_eq!(q.lines[0].rate_per_mille, dec!(2));
        assert_eq!(LateFeeClass::from(CustomerClass::Agricultural), LateFeeClass::Other);
        assert_eq!(LateFeeClass::from(CustomerClass::Residential), LateFeeClass::Residential);
    }

    #[test]
    fn cross_year_arrears_take_three_per_mille_from_new_year() {
        // 1000.00 yuan of 2025 due 25 Dec 2025, counted on 5 Jan 2026:
        // 26–31 Dec: 6 days × 2 ‰ = 12.00; 1–5 Jan: 5 days × 3 ‰ = 15.00.
        let q = quote(LateFeeClass::Other, d(2025, 12, 25), d(2026, 1, 5), yuan("1000"));
        assert_eq!((q.days, q.fee), (11, Fen(2700)));
        assert_eq!(q.lines.len(), 2);
        assert_eq!((q.lines[1].from, q.lines[1].rate_per_mille), (d(2026, 1, 1), dec!(3)));
        // Arrears of an earlier year are at 3 ‰ from the first day.
        let q = quote_with(
            LateFeeRules::builtin(),
            LateFeeClass::Other,
            2024,
            d(2026, 2, 1),
            d(2026, 2, 11),
            yuan("1000"),
        );
        assert_eq!(q.fee, Fen(3000));
        // Residential customers stay at 1 ‰ across the year end.
        let q = quote(LateFeeClass::Residential, d(2025, 12, 25), d(2026, 1, 5), yuan("1000"));
        assert_eq!(q.fee, Fen(1100));
    }

    #[test]
    fn a_fee_under_one_yuan_is_one_yuan() {
        // 50.00 yuan, 5 days × 1 ‰ = 0.25 → 1.00.
        let q = quote(LateFeeClass::Residential, d(2026, 1, 10), d(2026, 1, 15), yuan("50"));
        assert_eq!((q.accrued, q.fee, q.minimum_applied), (Fen(25), Fen(100), true));
        // Exactly 1.00 is not raised.
        let q = quote(LateFeeClass::Residential, d(2026, 1, 10), d(2026, 1, 20), yuan("100"));
        assert_eq!((q.fee, q.minimum_applied), (Fen(100), false));
        // No arrears, no fee and no minimum.
        assert_eq!(quote(LateFeeClass::Other, d(2026, 1, 10), d(2026, 1, 20), Fen(0)).fee, Fen(0));
        // A file without a minimum charges what accrued.
        let no_min = LateFeeRules::parse("x.toml", &BUILTIN.1.replace("minimum_fee = \"1.00\"", "")).unwrap();
        assert_eq!(
            quote_with(&no_min, LateFeeClass::Residential, 2026, d(2026, 1, 10), d(2026, 1, 15), yuan("50"))
                .fee,
            Fen(25)
        );
    }

    #[test]
    fn partial_payment_part_way_through() {
        // 1000.00 due 10 Jan; 600.00 paid 20 Jan; counted on 30 Jan.
        // 11–20 Jan (the payment day included) on 1000.00: 10 × 1 ‰ × 1000 = 10.00;
        // 21–30 Jan on 400.00: 10 × 1 ‰ × 400 = 4.00.
        let pays = [Payment { date: d(2026, 1, 20), amount: yuan("600") }];
        let q = quote_with_payments(
            LateFeeRules::builtin(),
            LateFeeClass::Residential,
            2026,
            d(2026, 1, 10),
            yuan("1000"),
            &pays,
            d(2026, 1, 30),
        )
        .unwrap();
        assert_eq!((q.days, q.fee), (20, Fen(1400)));
        assert_eq!(
            q.lines.iter().map(|l| (l.days, l.arrears)).collect::<Vec<_>>(),
            [(10, yuan("1000")), (10, yuan("400"))]
        );
        // Paying the rest on 30 Jan closes it: the same fee, no further days.
        let pays = [pays[0], Payment { date: d(2026, 1, 30), amount: yuan("400") }];
        let q2 = quote_with_payments(
            LateFeeRules::builtin(),
            LateFeeClass::Residential,
            2026,
            d(2026, 1, 10),
            yuan("1000"),
            &pays,
            d(2026, 2, 28),
        )
        .unwrap();
        assert_eq!((q2.days, q2.fee), (20, Fen(1400)));
        // A payment before the due date only lowers the arrears.
        let early = [Payment { date: d(2026, 1, 5), amount: yuan("500") }];
        let q3 = quote_with_payments(
            LateFeeRules::builtin(),
            LateFeeClass::Other,
            2026,
            d(2026, 1, 10),
            yuan("1000"),
            &early,
            d(2026, 1, 20),
        )
        .unwrap();
        assert_eq!(q3.fee, Fen(1000)); // 10 days × 2 ‰ × 500
                                       // Over-payment is refused.
        let too_much = [Payment { date: d(2026, 1, 12), amount: yuan("1000.01") }];
        let e = quote_with_payments(
            LateFeeRules::builtin(),
            LateFeeClass::Other,
            2026,
            d(2026, 1, 10),
            yuan("1000"),
            &too_much,
            d(2026, 1, 20),
        )
        .unwrap_err();
        assert_eq!(e.field, "payments");
    }

    #[test]
    fn partial_payment_across_the_year_end() {
        // Other customer, 2025 arrears 2000.00 due 20 Dec 2025; 1500.00 paid 31 Dec; counted 10 Jan.
        // 21–31 Dec on 2000 at 2 ‰: 11 × 4.00 = 44.00; 1–10 Jan on 500 at 3 ‰: 10 × 1.50 = 15.00.
        let pays = [Payment { date: d(2025, 12, 31), amount: yuan("1500") }];
        let q = quote_with_payments(
            LateFeeRules::builtin(),
            LateFeeClass::Other,
            2025,
            d(2025, 12, 20),
            yuan("2000"),
            &pays,
            d(2026, 1, 10),
        )
        .unwrap();
        assert_eq!((q.days, q.fee), (21, Fen(5900)));
    }

    #[test]
    fn each_day_uses_the_version_in_force() {
        let text = r#"
[[versions]]
effective_from = 2020-01-01
rule_zh = "旧"
rule_en = "old"
residential_per_mille = "1"
other_current_year_per_mille = "2"
other_earlier_years_per_mille = "3"
minimum_fee = "1"
[[versions]]
effective_from = 2026-01-16
rule_zh = "新"
rule_en = "new"
residential_per_mille = "0.5"
other_current_year_per_mille = "1"
other_earlier_years_per_mille = "1.5"
"#;
        let rules = LateFeeRules::parse("t.toml", text).unwrap();
        // 11–15 Jan at 1 ‰, 16–20 Jan at 0.5 ‰ on 1000: 5.00 + 2.50; the new version has no minimum.
        let q =
            quote_with(&rules, LateFeeClass::Residential, 2026, d(2026, 1, 10), d(2026, 1, 20), yuan("1000"));
        assert_eq!((q.days, q.fee, q.lines.len()), (10, Fen(750), 2));
        assert_eq!(q.lines[1].rule.en, "new");
        assert!(!q.unverified);
    }

    #[test]
    fn bad_files_name_the_key() {
        let e = LateFeeRules::parse(
            "lf.toml",
            &BUILTIN.1.replacen("residential_per_mille = \"1\"", "residential_per_mille = \"-1\"", 1),
        )
        .unwrap_err();
        assert_eq!(
            (e.file.as_str(), e.field.as_str(), e.code),
            ("lf.toml", "versions[0].residential_per_mille", "negative")
        );
        let e = LateFeeRules::parse("lf.toml", &BUILTIN.1.replacen("rule_en = ", "rule_english = ", 1))
            .unwrap_err();
        assert_eq!(e.field, "versions[0].rule_english");
        let e = LateFeeRules::parse(
            "lf.toml",
            &BUILTIN.1.replacen("minimum_fee = \"1.00\"", "minimum_fee = \"1.005\"", 1),
        )
        .unwrap_err();
        assert_eq!(e.field, "versions[0].minimum_fee");
        let e = LateFeeRules::parse("lf.toml", &BUILTIN.1.replace("2024-06-01", "1990-01-01")).unwrap_err();
        assert_eq!(e.field, "versions[1].effective_from");
    }

    proptest::proptest! {
        #[test]
        fn fee_is_the_sum_of_lines_or_the_minimum(
            arrears in 0i64..100_000_000,
            late in 0i64..800,
            paid in 0i64..100,
            pay_day in 0i64..800,
            other in proptest::bool::ANY,
        ) {
            let due = d(2025, 11, 30);
            let on = due.checked_add(jiff::Span::new().days(late)).unwrap();
            let pay = Payment { date: due.checked_add(jiff::Span::new().days(pay_day)).unwrap(), amount: Fen(arrears * paid / 100) };
            let class = if other { LateFeeClass::Other } else { LateFeeClass::Residential };
            let q = quote_with_payments(LateFeeRules::builtin(), class, 2025, due, Fen(arrears), &[pay], on).unwrap();
            let sum: Fen = q.lines.iter().map(|l| l.amount).sum();
            proptest::prop_assert_eq!(q.accrued, sum);
            proptest::prop_assert!(q.fee == sum || (q.minimum_applied && q.fee == Fen(100) && sum < Fen(100)));
            proptest::prop_assert!(q.days <= late);
            // Paying part can only lower the fee.
            let full = quote_with(LateFeeRules::builtin(), class, 2025, due, on, Fen(arrears));
            proptest::prop_assert!(q.accrued.0 <= full.accrued.0 + q.lines.len() as i64);
        }
    }
}
