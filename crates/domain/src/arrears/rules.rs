//! The dated parameters of the arrears workflow (`data/arrears/arrears.toml`).

use crate::error::FieldError;
use crate::i18n::Text;
use crate::tariff::file::{check_dates_increase, parse_toml, Node};
use jiff::civil::Date;
use serde::Serialize;

/// Errors of an arrears parameter file name the file and the key, like tariff files.
pub use crate::tariff::TariffFileError as ArrearsFileError;

const BUILTIN: (&str, &str) = ("arrears.toml", include_str!("../../../../data/arrears/arrears.toml"));

/// The arrears parameters, version by version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ArrearsRules {
    pub source: String,
    pub versions: Vec<ArrearsVersion>,
}

/// One dated set of arrears parameters; see the data file for the source of each value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ArrearsVersion {
    pub effective_from: Date,
    pub rule: Text,
    /// True when a value is not verified in the official text.
    pub unverified: bool,
    /// Supply may be stopped only when arrears are more than this many days overdue (条例 Art. 39).
    pub overdue_days_before_disconnection: i64,
    /// Days after the due date on which reminders (催费) are sent, ascending.
    pub reminder_days_after_due: Vec<i64>,
    /// Beijing hour at which reminders and notices are sent.
    pub reminder_hour: i8,
    pub residential_notice_days: i64,
    pub other_notice_days: i64,
    /// A notice served longer ago than this before the cut is stale (Art. 67: 3 to 7 days).
    pub notice_max_days: i64,
    pub residential_final_reminder_minutes: i64,
    pub other_final_reminder_minutes: i64,
    pub copy_important_to_authority: bool,
    pub cut_from_hour: i8,
    pub cut_until_hour: i8,
    pub reconnect_within_hours: i64,
}

impl ArrearsRules {
    /// The parameters shipped with the program (a test checks that they load).
    pub fn builtin() -> &'static ArrearsRules {
        static RULES: std::sync::OnceLock<ArrearsRules> = std::sync::OnceLock::new();
        RULES.get_or_init(|| {
            ArrearsRules::parse(BUILTIN.0, BUILTIN.1)
                .unwrap_or(ArrearsRules { source: String::new(), versions: Vec::new() })
        })
    }

    pub fn parse(file: &str, text: &str) -> Result<ArrearsRules, ArrearsFileError> {
        let table = parse_toml(file, text)?;
        rules_from(&table).map_err(|e| ArrearsFileError::at(file, e))
    }

    /// The version in force on `day`.
    pub fn version_on(&self, day: Date) -> Option<&ArrearsVersion> {
        self.versions.iter().rev().find(|v| v.effective_from <= day)
    }
}

fn int_in(n: &Node<'_>, k: &str, lo: i64, hi: i64) -> Result<i64, FieldError> {
    let v = n.opt_int(k)?.ok_or_else(|| FieldError::required(&n.key(k)))?;
    if !(lo..=hi).contains(&v) {
        return Err(FieldError::invalid(
            &n.key(k),
            format!("应在 {lo} 到 {hi} 之间：{v}"),
            format!("must be between {lo} and {hi}: {v}"),
        ));
    }
    Ok(v)
}

fn days_list(n: &Node<'_>, k: &str) -> Result<Vec<i64>, FieldError> {
    let bad = || {
        FieldError::invalid(
            &n.key(k),
            "应为递增的天数列表，如 [1, 15]",
            "expected ascending days, e.g. [1, 15]",
        )
    };
    let Some(v) = n.table.get(k) else { return Ok(Vec::new()) };
    let arr = v.as_array().ok_or_else(bad)?;
    let days: Vec<i64> = arr.iter().map(|x| x.as_integer().ok_or_else(bad)).collect::<Result<_, _>>()?;
    if days.iter().any(|d| !(0..=365).contains(d)) || days.windows(2).any(|w| w[1] <= w[0]) {
        return Err(bad());
    }
    Ok(days)
}

const KEYS: &[&str] = &[
    "effective_from",
    "rule_zh",
    "rule_en",
    "unverified",
    "overdue_days_before_disconnection",
    "reminder_days_after_due",
    "reminder_hour",
    "residential_notice_days",
    "other_notice_days",
    "notice_max_days",
    "residential_final_reminder_minutes",
    "other_final_reminder_minutes",
    "copy_important_to_authority",
    "cut_from_hour",
    "cut_until_hour",
    "reconnect_within_hours",
    "note",
];

fn rules_from(table: &toml::Table) -> Result<ArrearsRules, FieldError> {
    let root = Node::root(table);
    root.only_keys(&["source", "note", "versions"])?;
    let mut versions = Vec::new();
    let mut dated = Vec::new();
    for v in root.tables("versions")? {
        v.only_keys(KEYS)?;
        let effective_from = v.req_date("effective_from")?;
        dated.push((v.key("effective_from"), effective_from));
        let residential_notice_days = int_in(&v, "residential_notice_days", 0, 60)?;
        let other_notice_days = int_in(&v, "other_notice_days", 0, 60)?;
        let notice_max_days = int_in(&v, "notice_max_days", 1, 60)?;
        if notice_max_days < residential_notice_days.max(other_notice_days) {
            return Err(FieldError::invalid(
                &v.key("notice_max_days"),
                "通知书最长提前天数不能小于提前送达天数",
                "notice_max_days must not be less than the notice days",
            ));
        }
        let cut_from_hour = int_in(&v, "cut_from_hour", 0, 23)? as i8;
        let cut_until_hour = int_in(&v, "cut_until_hour", 1, 24)? as i8;
        if cut_until_hour <= cut_from_hour {
            return Err(FieldError::invalid(
                &v.key("cut_until_hour"),
                "停电时段的结束应晚于开始",
                "cut_until_hour must be after cut_from_hour",
            ));
        }
        versions.push(ArrearsVersion {
            effective_from,
            rule: Text::new(v.req_str("rule_zh")?, v.req_str("rule_en")?),
            unverified: v.opt_bool("unverified")?.unwrap_or(false),
            overdue_days_before_disconnection: int_in(&v, "overdue_days_before_disconnection", 0, 365)?,
            reminder_days_after_due: days_list(&v, "reminder_days_after_due")?,
            reminder_hour: int_in(&v, "reminder_hour", 0, 23)? as i8,
            residential_notice_days,
            other_notice_days,
            notice_max_days,
            residential_final_reminder_minutes: int_in(&v, "residential_final_reminder_minutes", 0, 24 * 60)?,
            other_final_reminder_minutes: int_in(&v, "other_final_reminder_minutes", 0, 24 * 60)?,
            copy_important_to_authority: v.opt_bool("copy_important_to_authority")?.unwrap_or(false),
            cut_from_hour,
            cut_until_hour,
            reconnect_within_hours: int_in(&v, "reconnect_within_hours", 1, 24 * 30)?,
        });
    }
    if versions.is_empty() {
        return Err(FieldError::required("versions"));
    }
    check_dates_increase(&dated)?;
    Ok(ArrearsRules { source: root.opt_str("source")?.unwrap_or("").to_string(), versions })
}

#[cfg(test)]
pub(super) fn builtin_text() -> &'static str {
    BUILTIN.1
}
