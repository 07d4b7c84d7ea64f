//! Power-factor adjustment (功率因数调整电费, 力调电费).
//!
//! Source: 《功率因数调整电费办法》, 水电财字〔1983〕215号 (document number verified; the tables are
//! unverified and kept as data in `data/power-factor/1983.toml`). A customer assessed against a
//! standard of 0.90, 0.85 or 0.80 pays a surcharge when the month's power factor is below the
//! standard and receives a rebate above it, as a percentage of the month's basic charge plus energy
//! charge.

use super::file::{check_dates_increase, parse_toml, Node, TariffFileError};
use crate::error::FieldError;
use jiff::civil::Date;
use rust_decimal::Decimal;
use serde::Serialize;

/// The three standards of the 1983 rules: 0.90, 0.85 and 0.80.
pub const STANDARDS: [Decimal; 3] = [
    Decimal::from_parts(90, 0, 0, false, 2),
    Decimal::from_parts(85, 0, 0, false, 2),
    Decimal::from_parts(80, 0, 0, false, 2),
];

/// Checks that `value` is one of the three standards of the 1983 rules.
pub fn check_standard(field: &str, value: Decimal) -> Result<Decimal, FieldError> {
    STANDARDS.iter().copied().find(|s| *s == value).ok_or_else(|| {
        FieldError::invalid(
            field,
            format!("功率因数考核标准应为0.90、0.85或0.80：{value}"),
            format!("the power-factor standard is 0.90, 0.85 or 0.80: {value}"),
        )
    })
}

const BUILTIN: (&str, &str) = ("1983.toml", include_str!("../../../../data/power-factor/1983.toml"));

/// The adjustment tables, dated.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PowerFactorTables {
    pub source: String,
    pub unverified: bool,
    pub versions: Vec<PfVersion>,
}

/// One dated set of tables.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PfVersion {
    pub effective_from: Date,
    /// Whether government funds are taken out of the base before the percentage is applied.
    pub base_excludes_funds: bool,
    pub standards: Vec<PfTable>,
}

/// The table of one standard.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PfTable {
    pub standard: Decimal,
    /// Percent adjustment for actual power factor 1.00, 0.99, 0.98, ... (index = 100 − hundredths),
    /// down to the last row of the table.
    pub percent_by_row: Vec<Decimal>,
    /// Percent added for each further 0.01 below the last row.
    pub below_step_percent: Decimal,
}

impl PfTable {
    /// The adjustment in percent for an actual power factor given in hundredths (0..=100).
    /// Negative is a rebate (减收), positive a surcharge (增收).
    pub fn percent(&self, hundredths: u32) -> Decimal {
        let hundredths = hundredths.min(100);
        let row = (100 - hundredths) as usize;
        match self.percent_by_row.get(row) {
            Some(p) => *p,
            None => {
                // Below the table: 水电财字〔1983〕215号 continues "每降低0.01电费增加2%".
                let last = self.percent_by_row.len() - 1;
                let extra = Decimal::from((row - last) as i64);
                self.percent_by_row[last] + extra * self.below_step_percent
            }
        }
    }

    /// The lowest power factor (in hundredths) the table lists explicitly.
    pub fn last_row_hundredths(&self) -> u32 {
        101 - self.percent_by_row.len() as u32
    }
}

impl PfVersion {
    pub fn table(&self, standard: Decimal) -> Option<&PfTable> {
        self.standards.iter().find(|t| t.standard == standard)
    }
}

impl PowerFactorTables {
    /// The tables shipped with the program (tested to load; never panics: a broken builtin file
    /// would give empty tables and the test `builtin_tables_load` fails first).
    pub fn builtin() -> &'static PowerFactorTables {
        static TABLES: std::sync::OnceLock<PowerFactorTables> = std::sync::OnceLock::new();
        TABLES.get_or_init(|| {
            PowerFactorTables::parse(BUILTIN.0, BUILTIN.1).unwrap_or(PowerFactorTables {
                source: String::new(),
                unverified: true,
                versions: Vec::new(),
            })
        })
    }

    /// Reads a table file (format: `data/power-factor/1983.toml`).
    pub fn parse(file: &str, text: &str) -> Result<PowerFactorTables, TariffFileError> {
        let table = parse_toml(file, text)?;
        from_table(&table).map_err(|e| TariffFileError::at(file, e))
    }

    /// Reads an operator's replacement table file.
    pub fn load_file(path: impl AsRef<std::path::Path>) -> Result<PowerFactorTables, TariffFileError> {
        let p = path.as_ref();
        let text = std::fs::read_to_string(p).map_err(|e| TariffFileError {
            file: p.display().to_string(),
            field: String::new(),
            code: "io",
            message: crate::i18n::Text::new(format!("无法读取：{e}"), format!("cannot read: {e}")),
        })?;
        PowerFactorTables::parse(&p.display().to_string(), &text)
    }

    pub fn version_on(&self, day: Date) -> Option<&PfVersion> {
        self.versions.iter().rev().find(|v| v.effective_from <= day)
    }
}

fn from_table(table: &toml::Table) -> Result<PowerFactorTables, FieldError> {
    let root = Node::root(table);
    root.only_keys(&["source", "unverified", "note", "versions"])?;
    let mut versions = Vec::new();
    let mut dated = Vec::new();
    for v in root.tables("versions")? {
        v.only_keys(&["effective_from", "base_excludes_funds", "standards", "note"])?;
        let effective_from = v.req_date("effective_from")?;
        dated.push((v.key("effective_from"), effective_from));
        let mut standards: Vec<PfTable> = Vec::new();
        for s in v.tables("standards")? {
            s.only_keys(&["standard", "rows", "below_step_percent", "note"])?;
            let standard = check_standard(&s.key("standard"), s.req_decimal("standard")?)?;
            if standards.iter().any(|t| t.standard == standard) {
                return Err(FieldError::new(
                    &s.key("standard"),
                    "duplicate",
                    format!("标准 {standard} 重复"),
                    format!("standard {standard} is listed twice"),
                ));
            }
            let below_step_percent = s.req_non_negative("below_step_percent")?;
            let percent_by_row = rows_from(&s, standard)?;
            standards.push(PfTable { standard, percent_by_row, below_step_percent });
        }
        if standards.is_empty() {
            return Err(FieldError::required(&v.key("standards")));
        }
        versions.push(PfVersion {
            effective_from,
            base_excludes_funds: v.opt_bool("base_excludes_funds")?.unwrap_or(true),
            standards,
        });
    }
    if versions.is_empty() {
        return Err(FieldError::required("versions"));
    }
    check_dates_increase(&dated)?;
    Ok(PowerFactorTables {
        source: root.opt_str("source")?.unwrap_or("").to_string(),
        unverified: root.opt_bool("unverified")?.unwrap_or(false),
        versions,
    })
}

/// Rows are `[power factor, percent]` from 1.00 down in steps of 0.01; the standard itself is 0,
/// and the percentage never falls as the power factor falls.
fn rows_from(s: &Node<'_>, standard: Decimal) -> Result<Vec<Decimal>, FieldError> {
    let key = s.key("rows");
    let Some(toml::Value::Array(items)) = s.table.get("rows") else {
        return Err(FieldError::required(&key));
    };
    let mut out: Vec<Decimal> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let at = format!("{key}[{i}]");
        let bad = || {
            FieldError::invalid(
                &at,
                "每行应为 [\"功率因数\", \"百分比\"]",
                "each row is [\"power factor\", \"percent\"]",
            )
        };
        let pair = item.as_array().filter(|a| a.len() == 2).ok_or_else(bad)?;
        let num = |v: &toml::Value| -> Result<Decimal, FieldError> {
            let text = match v {
                toml::Value::String(t) => t.clone(),
                toml::Value::Integer(n) => n.to_string(),
                toml::Value::Float(f) => f.to_string(),
                _ => return Err(bad()),
            };
            text.trim().parse::<Decimal>().map_err(|_| bad())
        };
        let pf = num(&pair[0])?;
        let pct = num(&pair[1])?;
        let want = Decimal::new(100 - i as i64, 2);
        if pf != want {
            return Err(FieldError::invalid(
                &at,
                format!("功率因数应从1.00起每行递减0.01：此行应为 {want}，实为 {pf}"),
                format!("rows run from 1.00 down by 0.01: this row should be {want}, not {pf}"),
            ));
        }
        if pf == standard && !pct.is_zero() {
            return Err(FieldError::invalid(
                &at,
                "功率因数等于考核标准时调整应为0",
                "the adjustment at the standard itself is 0",
            ));
        }
        if out.last().is_some_and(|prev| pct < *prev) {
            return Err(FieldError::invalid(
                &at,
                "功率因数越低，调整百分比不应越小",
                "the percentage must not fall as the power factor falls",
            ));
        }
        out.push(pct);
    }
    let std_row = (Decimal::ONE_HUNDRED - standard * Decimal::ONE_HUNDRED).try_into().unwrap_or(usize::MAX);
    if out.len() <= std_row {
        return Err(FieldError::invalid(
            &key,
            "表格应至少列到考核标准以下一行",
            "the table must reach at least one row below the standard",
        ));
    }
    Ok(out)
}

/// The month's power factor in hundredths, rounded half-up:
/// cos φ = kWh / √(kWh² + kvarh²) (billing-rules.md §3.5).
///
/// Computed without a square root: cos φ ≥ x exactly when kWh² ≥ x²·(kWh² + kvarh²), so we look
/// for the largest n with cos φ ≥ (n − 0.5)/100. `None` when there is no energy at all, or the
/// numbers are too large to square exactly.
pub fn power_factor_hundredths(kwh: Decimal, kvarh: Decimal) -> Option<u32> {
    let p = kwh.abs();
    let q = kvarh.abs();
    if p.is_zero() && q.is_zero() {
        return None;
    }
    let p2 = p.checked_mul(p)?;
    let s2 = p2.checked_add(q.checked_mul(q)?)?;
    let at_least = |n: u32| -> Option<bool> {
        let x = Decimal::new(10 * n as i64 - 5, 3); // (n − 0.5)/100
        Some(p2 >= x.checked_mul(x)?.checked_mul(s2)?)
    };
    // at_least is true for n = 0 and monotone: binary search the last n in 0..=100 where it holds.
    let (mut lo, mut hi) = (0u32, 100u32);
    if at_least(100)? {
        return Some(100);
    }
    while hi - lo > 1 {
        let mid = (lo + hi) / 2;
        if at_least(mid)? {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Some(lo)
}

/// The adjustment applied to a bill.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PfAdjustment {
    /// The month's power factor, rounded to 0.01.
    pub actual: Decimal,
    pub standard: Decimal,
    /// Percent of the base; negative is a rebate.
    pub percent: Decimal,
    /// The base in yuan: basic charge + energy charge (less funds when the tables say so).
    pub base: Decimal,
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn builtin_tables_load() {
        let t = PowerFactorTables::parse(BUILTIN.0, BUILTIN.1).expect("builtin power-factor tables load");
        assert_eq!(&t, PowerFactorTables::builtin());
        assert!(t.unverified);
        let v = t.version_on(Date::constant(2026, 1, 1)).unwrap();
        assert!(v.base_excludes_funds);
        assert_eq!(v.standards.len(), 3);
    }

    /// Expected rows typed from the 1983 tables as recalled in reference/billing-rules.md §3.5,
    /// written independently of the data file so that a wrong row in the file fails here.
    /// Each entry: (actual power factor in hundredths, percent; negative = rebate).
    fn expected(standard: u32) -> Vec<(u32, Decimal)> {
        let mut rows = Vec::new();
        for n in (0..=100u32).rev() {
            let pct: Decimal = match standard {
                90 => match n {
                    95..=100 => dec!(-0.75),
                    91..=94 => Decimal::from(90 - n as i64) * dec!(0.15),
                    70..=90 => Decimal::from(90 - n as i64) * dec!(0.5),
                    65..=69 => dec!(10) + Decimal::from(70 - n as i64),
                    _ => dec!(15) + Decimal::from(65 - n as i64) * dec!(2),
                },
                85 => match n {
                    94..=100 => dec!(-1.10),
                    93 => dec!(-0.95),
                    92 => dec!(-0.80),
                    91 => dec!(-0.65),
                    86..=90 => Decimal::from(85 - n as i64) * dec!(0.1),
                    65..=85 => Decimal::from(85 - n as i64) * dec!(0.5),
                    60..=64 => dec!(10) + Decimal::from(65 - n as i64),
                    _ => dec!(15) + Decimal::from(60 - n as i64) * dec!(2),
                },
                80 => match n {
                    92..=100 => dec!(-1.30),
                    91 => dec!(-1.15),
                    81..=90 => Decimal::from(80 - n as i64) * dec!(0.1),
                    60..=80 => Decimal::from(80 - n as i64) * dec!(0.5),
                    55..=59 => dec!(10) + Decimal::from(60 - n as i64),
                    _ => dec!(15) + Decimal::from(55 - n as i64) * dec!(2),
                },
                _ => unreachable!(),
            };
            rows.push((n, pct));
        }
        rows
    }

    #[test]
    fn every_row_of_the_three_tables() {
        let v = &PowerFactorTables::builtin().versions[0];
        for std in [90u32, 85, 80] {
            let table = v.table(Decimal::new(std as i64, 2)).unwrap();
            for (n, want) in expected(std) {
                assert_eq!(table.percent(n), want, "standard 0.{std}, actual {n}/100");
            }
        }
        // Spot checks against the rules text itself.
        let t90 = v.table(dec!(0.90)).unwrap();
        assert_eq!(t90.percent(94), dec!(-0.60));
        assert_eq!(t90.percent(70), dec!(10));
        assert_eq!(t90.percent(65), dec!(15));
        assert_eq!(t90.percent(64), dec!(17));
        assert_eq!(t90.last_row_hundredths(), 65);
        let t85 = v.table(dec!(0.85)).unwrap();
        assert_eq!(t85.percent(90), dec!(-0.5));
        assert_eq!(t85.percent(100), dec!(-1.10));
        assert_eq!(t85.percent(59), dec!(17));
        let t80 = v.table(dec!(0.80)).unwrap();
        assert_eq!(t80.percent(90), dec!(-1.0));
        assert_eq!(t80.percent(54), dec!(17));
    }

    #[test]
    fn power_factor_rounds_half_up_to_hundredths() {
        // 3-4-5 triangle: 0.6 and 0.8 exactly.
        assert_eq!(power_factor_hundredths(dec!(300), dec!(400)), Some(60));
        assert_eq!(power_factor_hundredths(dec!(400), dec!(300)), Some(80));
        assert_eq!(power_factor_hundredths(dec!(1000), dec!(0)), Some(100));
        assert_eq!(power_factor_hundredths(dec!(0), dec!(10)), Some(0));
        assert_eq!(power_factor_hundredths(dec!(0), dec!(0)), None);
        // 1000 / √(1000² + 484²) = 0.9001… → 0.90; with 485 kvarh 0.8998… → 0.90 (0.895 rounds up).
        assert_eq!(power_factor_hundredths(dec!(1000), dec!(484)), Some(90));
        assert_eq!(power_factor_hundredths(dec!(1000), dec!(485)), Some(90));
        // 1000 / √(1000² + 499²) = 0.8948… → 0.89; 498 → 0.8951… → 0.90.
        assert_eq!(power_factor_hundredths(dec!(1000), dec!(499)), Some(89));
        assert_eq!(power_factor_hundredths(dec!(1000), dec!(498)), Some(90));
    }

    #[test]
    fn bad_table_files_name_the_row() {
        let good = BUILTIN.1;
        let e = PowerFactorTables::parse(
            "pf.toml",
            &good.replacen("[\"0.99\", \"-0.75\"]", "[\"0.98\", \"-0.75\"]", 1),
        )
        .unwrap_err();
        assert_eq!((e.file.as_str(), e.field.as_str()), ("pf.toml", "versions[0].standards[0].rows[1]"));
        let e = PowerFactorTables::parse(
            "pf.toml",
            &good.replacen("[\"0.88\", \"1.00\"]", "[\"0.88\", \"0.10\"]", 1),
        )
        .unwrap_err();
        assert_eq!(e.field, "versions[0].standards[0].rows[12]");
        let e = PowerFactorTables::parse(
            "pf.toml",
            &good.replacen("standard = \"0.90\"", "standard = \"0.95\"", 1),
        )
        .unwrap_err();
        assert_eq!(e.field, "versions[0].standards[0].standard");
    }
}
