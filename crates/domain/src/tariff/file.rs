//! Reading tariff files (and the other dated rule files) from TOML, with errors that name the file,
//! the key and the reason in both languages.
//!
//! We walk a `toml::Table` by hand rather than deriving `Deserialize`: an operator who edits a file
//! needs the full key path (`versions[0].tiers.bands[1].price`) and a reason they can act on, which
//! serde's messages do not give.

use super::{
    BasicCharge, EnergyPrices, Fund, Tariff, TariffKind, TariffVersion, TierBand, TierCounter, Tiers,
};
use crate::error::FieldError;
use crate::i18n::{Lang, Text};
use crate::register::CustomerClass;
use jiff::civil::Date;
use rust_decimal::Decimal;
use std::fmt;
use std::str::FromStr;
use toml::{Table, Value};

/// A bad rule file: which file, which key, and why.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct TariffFileError {
    /// The file name (or path) as given to the loader.
    pub file: String,
    /// The key path inside the file, e.g. `versions[0].tiers.bands[1].price`; empty for the file
    /// as a whole (unreadable, not TOML).
    pub field: String,
    /// A stable code: `required`, `invalid`, `unknown`, `duplicate`, `overlap`, `negative`, `syntax`, `io`.
    pub code: &'static str,
    pub message: Text,
}

impl TariffFileError {
    pub(crate) fn at(file: &str, e: FieldError) -> TariffFileError {
        TariffFileError { file: file.to_string(), field: e.field, code: e.code, message: e.message }
    }

    /// The full message in one language, naming the file and the key.
    pub fn message(&self, lang: Lang) -> String {
        match lang {
            Lang::Zh if self.field.is_empty() => format!("文件 {}：{}", self.file, self.message.zh),
            Lang::Zh => format!("文件 {}，字段 {}：{}", self.file, self.field, self.message.zh),
            Lang::En if self.field.is_empty() => format!("file {}: {}", self.file, self.message.en),
            Lang::En => format!("file {}, key {}: {}", self.file, self.field, self.message.en),
        }
    }
}

impl fmt::Display for TariffFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} / {}", self.message(Lang::En), self.message(Lang::Zh))
    }
}

impl std::error::Error for TariffFileError {}

/// Parses TOML text into a table, or a `syntax` error naming the file.
pub(crate) fn parse_toml(file: &str, text: &str) -> Result<Table, TariffFileError> {
    text.parse::<Table>().map_err(|e| TariffFileError {
        file: file.to_string(),
        field: String::new(),
        code: "syntax",
        message: Text::new(
            format!("不是有效的TOML：{}", e.message()),
            format!("not valid TOML: {}", e.message()),
        ),
    })
}

/// A table of a rule file together with its key path, so that every error names where it is.
pub(crate) struct Node<'a> {
    pub table: &'a Table,
    pub path: String,
}

impl<'a> Node<'a> {
    pub fn root(table: &'a Table) -> Node<'a> {
        Node { table, path: String::new() }
    }

    pub fn key(&self, k: &str) -> String {
        if self.path.is_empty() {
            k.to_string()
        } else {
            format!("{}.{k}", self.path)
        }
    }

    /// Rejects keys the format does not know: a misspelt key would otherwise be silently ignored
    /// and a price would fall back to nothing.
    pub fn only_keys(&self, allowed: &[&str]) -> Result<(), FieldError> {
        for k in self.table.keys() {
            if !allowed.contains(&k.as_str()) {
                return Err(FieldError::new(
                    &self.key(k),
                    "unknown",
                    format!("未知的字段“{k}”，可用字段：{}", allowed.join(", ")),
                    format!("unknown key '{k}', expected one of: {}", allowed.join(", ")),
                ));
            }
        }
        Ok(())
    }

    fn wrong_type(&self, k: &str, zh: &str, en: &str) -> FieldError {
        FieldError::invalid(&self.key(k), format!("应为{zh}"), format!("expected {en}"))
    }

    pub fn opt_str(&self, k: &str) -> Result<Option<&'a str>, FieldError> {
        match self.table.get(k) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(_) => Err(self.wrong_type(k, "字符串", "a string")),
        }
    }

    pub fn req_str(&self, k: &str) -> Result<&'a str, FieldError> {
        match self.opt_str(k)? {
            Some(s) if !s.trim().is_empty() => Ok(s),
            _ => Err(FieldError::required(&self.key(k))),
        }
    }

    pub fn opt_bool(&self, k: &str) -> Result<Option<bool>, FieldError> {
        match self.table.get(k) {
            None => Ok(None),
            Some(Value::Boolean(b)) => Ok(Some(*b)),
            Some(_) => Err(self.wrong_type(k, "true或false", "true or false")),
        }
    }

    pub fn opt_int(&self, k: &str) -> Result<Option<i64>, FieldError> {
        match self.table.get(k) {
            None => Ok(None),
            Some(Value::Integer(i)) => Ok(Some(*i)),
            Some(_) => Err(self.wrong_type(k, "整数", "an integer")),
        }
    }

    /// A decimal written as a string (`"0.51"`, exact) or as a TOML number. A float is read through
    /// its shortest decimal form, which is what the operator typed for any price with few digits.
    pub fn opt_decimal(&self, k: &str) -> Result<Option<Decimal>, FieldError> {
        let text = match self.table.get(k) {
            None => return Ok(None),
            Some(Value::String(s)) => s.trim().to_string(),
            Some(Value::Integer(i)) => i.to_string(),
            Some(Value::Float(f)) if f.is_finite() => f.to_string(),
            Some(_) => return Err(self.wrong_type(k, "数值（如 \"0.51\"）", "a number such as \"0.51\"")),
        };
        Decimal::from_str(&text).or_else(|_| Decimal::from_scientific(&text)).map(Some).map_err(|_| {
            FieldError::invalid(
                &self.key(k),
                format!("不是有效的数值：{text}"),
                format!("not a number: {text}"),
            )
        })
    }

    pub fn req_decimal(&self, k: &str) -> Result<Decimal, FieldError> {
        self.opt_decimal(k)?.ok_or_else(|| FieldError::required(&self.key(k)))
    }

    /// A price, rate or quantity that may not be negative.
    pub fn opt_non_negative(&self, k: &str) -> Result<Option<Decimal>, FieldError> {
        let d = self.opt_decimal(k)?;
        if let Some(v) = d {
            if v.is_sign_negative() && !v.is_zero() {
                return Err(FieldError::new(
                    &self.key(k),
                    "negative",
                    format!("不能为负数：{v}"),
                    format!("must not be negative: {v}"),
                ));
            }
        }
        Ok(d)
    }

    pub fn req_non_negative(&self, k: &str) -> Result<Decimal, FieldError> {
        self.opt_non_negative(k)?.ok_or_else(|| FieldError::required(&self.key(k)))
    }

    /// A date written as a TOML local date (`2024-06-01`) or a string `"2024-06-01"`.
    pub fn req_date(&self, k: &str) -> Result<Date, FieldError> {
        let text = match self.table.get(k) {
            None => return Err(FieldError::required(&self.key(k))),
            Some(Value::String(s)) => s.trim().to_string(),
            Some(Value::Datetime(d)) if d.date.is_some() && d.time.is_none() => d.to_string(),
            Some(_) => return Err(self.wrong_type(k, "日期（YYYY-MM-DD）", "a date YYYY-MM-DD")),
        };
        text.parse::<Date>().map_err(|_| {
            FieldError::invalid(
                &self.key(k),
                format!("日期应为YYYY-MM-DD格式：{text}"),
                format!("a date is written YYYY-MM-DD: {text}"),
            )
        })
    }

    pub fn opt_table(&self, k: &str) -> Result<Option<Node<'a>>, FieldError> {
        match self.table.get(k) {
            None => Ok(None),
            Some(Value::Table(t)) => Ok(Some(Node { table: t, path: self.key(k) })),
            Some(_) => Err(self.wrong_type(k, "表（[...]）", "a table ([...])")),
        }
    }

    /// An array of tables (`[[k]]`); a missing key is an empty list.
    pub fn tables(&self, k: &str) -> Result<Vec<Node<'a>>, FieldError> {
        match self.table.get(k) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, v)| match v {
                    Value::Table(t) => Ok(Node { table: t, path: format!("{}[{i}]", self.key(k)) }),
                    _ => Err(FieldError::invalid(
                        &format!("{}[{i}]", self.key(k)),
                        "应为表（[[...]]）",
                        "expected a table ([[...]])",
                    )),
                })
                .collect(),
            Some(_) => Err(self.wrong_type(k, "表数组（[[...]]）", "an array of tables ([[...]])")),
        }
    }
}

/// Versions must be listed oldest first, one per day, so that "the version in force" is unique.
pub(crate) fn check_dates_increase(versions: &[(String, Date)]) -> Result<(), FieldError> {
    for w in versions.windows(2) {
        if w[1].1 <= w[0].1 {
            return Err(FieldError::invalid(
                &w[1].0,
                format!("版本应按生效日期从早到晚排列且日期不同：{} 不晚于 {}", w[1].1, w[0].1),
                format!(
                    "versions must be in increasing effective_from order: {} is not after {}",
                    w[1].1, w[0].1
                ),
            ));
        }
    }
    Ok(())
}

/// Parses one tariff file. `file` only names the file in errors.
pub(crate) fn parse_tariff(file: &str, text: &str) -> Result<Tariff, TariffFileError> {
    let table = parse_toml(file, text)?;
    tariff_from_table(&table).map_err(|e| TariffFileError::at(file, e))
}

const TARIFF_KEYS: &[&str] =
    &["id", "name_zh", "name_en", "class", "kind", "unverified", "source", "note", "versions"];
const VERSION_KEYS: &[&str] = &["effective_from", "energy", "tiers", "basic", "pf_standard", "funds", "note"];

fn tariff_from_table(table: &Table) -> Result<Tariff, FieldError> {
    let root = Node::root(table);
    root.only_keys(TARIFF_KEYS)?;
    let id = crate::register::parse_code("id", root.req_str("id")?)?;
    let name_zh = root.req_str("name_zh")?.to_string();
    let name_en = root.req_str("name_en")?.to_string();
    let class = CustomerClass::parse(root.req_str("class")?)?;
    let kind = TariffKind::parse(root.req_str("kind")?)?;
    let unverified = root.opt_bool("unverified")?.unwrap_or(false);
    let source = root.opt_str("source")?.unwrap_or("").to_string();

    let class_fits = match kind {
        TariffKind::ResidentialTiered | TariffKind::ResidentialTou => class == CustomerClass::Residential,
        TariffKind::Agricultural => class == CustomerClass::Agricultural,
        TariffKind::SinglePart | TariffKind::TwoPart => true,
    };
    if !class_fits {
        return Err(FieldError::invalid(
            "class",
            format!("用户类别“{}”不适用于电价类型“{}”", class.name_zh(), kind.name_zh()),
            format!("class '{}' does not fit tariff kind '{}'", class.code(), kind.code()),
        ));
    }

    let nodes = root.tables("versions")?;
    if nodes.is_empty() {
        return Err(FieldError::new(
            "versions",
            "required",
            "至少需要一个版本（[[versions]]）",
            "at least one version ([[versions]]) is required",
        ));
    }
    let mut versions = Vec::with_capacity(nodes.len());
    for n in &nodes {
        versions.push(version_from(n, kind)?);
    }
    let dated: Vec<(String, Date)> =
        nodes.iter().zip(&versions).map(|(n, v)| (n.key("effective_from"), v.effective_from)).collect();
    check_dates_increase(&dated)?;
    Ok(Tariff { id, name_zh, name_en, class, kind, unverified, source, versions })
}

fn version_from(n: &Node<'_>, kind: TariffKind) -> Result<TariffVersion, FieldError> {
    n.only_keys(VERSION_KEYS)?;
    let effective_from = n.req_date("effective_from")?;
    let pf_standard = match n.opt_decimal("pf_standard")? {
        None => None,
        Some(s) => Some(super::power_factor::check_standard(&n.key("pf_standard"), s)?),
    };

    let energy = match n.opt_table("energy")? {
        None => EnergyPrices::default(),
        Some(e) => {
            e.only_keys(&["single", "critical", "peak", "flat", "valley"])?;
            EnergyPrices {
                single: e.opt_non_negative("single")?,
                critical: e.opt_non_negative("critical")?,
                peak: e.opt_non_negative("peak")?,
                flat: e.opt_non_negative("flat")?,
                valley: e.opt_non_negative("valley")?,
            }
        }
    };
    let tiers = match n.opt_table("tiers")? {
        None => None,
        Some(t) => Some(tiers_from(&t)?),
    };
    let basic = match n.opt_table("basic")? {
        None => None,
        Some(b) => Some(basic_from(&b)?),
    };
    let mut funds = Vec::new();
    for f in n.tables("funds")? {
        f.only_keys(&["code", "name_zh", "name_en", "rate", "unverified", "note"])?;
        let code = crate::register::parse_code(&f.key("code"), f.req_str("code")?)?;
        if funds.iter().any(|x: &Fund| x.code == code) {
            return Err(FieldError::new(
                &f.key("code"),
                "duplicate",
                format!("基金编码重复：{code}"),
                format!("duplicate fund code: {code}"),
            ));
        }
        funds.push(Fund {
            code,
            name_zh: f.req_str("name_zh")?.to_string(),
            name_en: f.req_str("name_en")?.to_string(),
            rate: f.req_non_negative("rate")?,
            unverified: f.opt_bool("unverified")?.unwrap_or(false),
        });
    }

    // Each kind needs its own parts and must not carry parts it would silently ignore.
    let need = |part: &str, zh: &str| {
        FieldError::new(
            &n.key(part),
            "required",
            format!("电价类型“{}”需要{zh}", kind.name_zh()),
            format!("a '{}' tariff needs {part}", kind.code()),
        )
    };
    let refuse = |part: &str| {
        FieldError::invalid(
            &n.key(part),
            format!("电价类型“{}”不使用此项", kind.name_zh()),
            format!("a '{}' tariff has no {part}", kind.code()),
        )
    };
    match kind {
        TariffKind::ResidentialTiered => {
            if tiers.is_none() {
                return Err(need("tiers", "阶梯（tiers）"));
            }
            if n.table.contains_key("energy") {
                return Err(refuse("energy"));
            }
        }
        TariffKind::ResidentialTou => {
            if energy.peak.is_none() || energy.valley.is_none() {
                return Err(need("energy", "峰、谷电价（energy.peak, energy.valley）"));
            }
        }
        TariffKind::SinglePart | TariffKind::Agricultural | TariffKind::TwoPart => {
            if energy.single.is_none() && !energy.has_tou() {
                return Err(need("energy", "电度电价（energy.single 或分时电价）"));
            }
        }
    }
    if energy.has_tou() && (energy.peak.is_none() || energy.valley.is_none()) {
        return Err(FieldError::invalid(
            &n.key("energy"),
            "分时电价至少需要峰、谷两个时段（peak, valley）",
            "time-of-use prices need at least peak and valley",
        ));
    }
    if kind != TariffKind::ResidentialTiered && tiers.is_some() {
        return Err(refuse("tiers"));
    }
    match (kind, &basic) {
        (TariffKind::TwoPart, None) => return Err(need("basic", "基本电费（basic）")),
        (TariffKind::TwoPart, Some(_)) | (_, None) => {}
        (_, Some(_)) => return Err(refuse("basic")),
    }
    Ok(TariffVersion { effective_from, energy, tiers, basic, pf_standard, funds })
}

fn tiers_from(t: &Node<'_>) -> Result<Tiers, FieldError> {
    t.only_keys(&["counter", "reset_month", "bands"])?;
    let counter = match t.req_str("counter")? {
        "monthly" => TierCounter::Monthly,
        "annual" => {
            let m = t.opt_int("reset_month")?.unwrap_or(1);
            if !(1..=12).contains(&m) {
                return Err(FieldError::invalid(
                    &t.key("reset_month"),
                    format!("重置月份应为1至12：{m}"),
                    format!("reset_month is 1 to 12: {m}"),
                ));
            }
            TierCounter::Annual { reset_month: m as i8 }
        }
        other => {
            return Err(FieldError::invalid(
                &t.key("counter"),
                format!("无法识别的计数周期“{other}”，应为：monthly, annual"),
                format!("unknown counter '{other}', expected one of: monthly, annual"),
            ))
        }
    };
    let nodes = t.tables("bands")?;
    if nodes.is_empty() {
        return Err(FieldError::required(&t.key("bands")));
    }
    let mut bands: Vec<TierBand> = Vec::with_capacity(nodes.len());
    for (i, b) in nodes.iter().enumerate() {
        b.only_keys(&["from_kwh", "to_kwh", "price"])?;
        let from_kwh = b.req_non_negative("from_kwh")?;
        let to_kwh = b.opt_non_negative("to_kwh")?;
        let price = b.req_non_negative("price")?;
        let expected_from = bands.last().map(|p| p.to_kwh).unwrap_or(Some(Decimal::ZERO));
        match expected_from {
            // The previous band was open-ended, so this one can never be reached.
            None => {
                return Err(FieldError::new(
                    &nodes[i - 1].key("to_kwh"),
                    "required",
                    "只有最后一档可以不设上限（to_kwh）",
                    "only the last tier may omit its upper bound (to_kwh)",
                ))
            }
            Some(want) if from_kwh < want => {
                return Err(FieldError::new(
                    &b.key("from_kwh"),
                    "overlap",
                    format!("第{}档与上一档重叠：起点 {from_kwh} 小于上一档终点 {want}", i + 1),
                    format!("tier {} overlaps the previous one: it starts at {from_kwh} below {want}", i + 1),
                ))
            }
            Some(want) if from_kwh > want => {
                return Err(FieldError::invalid(
                    &b.key("from_kwh"),
                    format!("第{}档与上一档之间有空档：应从 {want} 开始，实为 {from_kwh}", i + 1),
                    format!("gap before tier {}: it should start at {want}, not {from_kwh}", i + 1),
                ))
            }
            Some(_) => {}
        }
        if let Some(to) = to_kwh {
            if to <= from_kwh {
                return Err(FieldError::new(
                    &b.key("to_kwh"),
                    "overlap",
                    format!("第{}档上限 {to} 应大于下限 {from_kwh}", i + 1),
                    format!("tier {} ends at {to}, not above its start {from_kwh}", i + 1),
                ));
            }
        }
        bands.push(TierBand { number: (i + 1) as u8, from_kwh, to_kwh, price });
    }
    if bands.last().is_some_and(|b| b.to_kwh.is_some()) {
        return Err(FieldError::invalid(
            &nodes[nodes.len() - 1].key("to_kwh"),
            "最后一档不应设上限，否则超出部分无价可计",
            "the last tier must be open-ended, or kWh above it would have no price",
        ));
    }
    if bands.len() > 9 {
        return Err(FieldError::invalid(&t.key("bands"), "阶梯最多9档", "at most 9 tiers"));
    }
    Ok(Tiers { counter, bands })
}

fn basic_from(b: &Node<'_>) -> Result<BasicCharge, FieldError> {
    b.only_keys(&[
        "capacity_price",
        "demand_price",
        "high_use_kwh_per_kva",
        "high_use_demand_factor",
        "partial_month_divisor",
    ])?;
    let basic = BasicCharge {
        capacity_price: b.opt_non_negative("capacity_price")?,
        demand_price: b.opt_non_negative("demand_price")?,
        high_use_kwh_per_kva: b.opt_non_negative("high_use_kwh_per_kva")?,
        high_use_demand_factor: b.opt_non_negative("high_use_demand_factor")?,
        partial_month_divisor: b.opt_non_negative("partial_month_divisor")?,
    };
    if basic.partial_month_divisor.is_some_and(|d| d < Decimal::ONE || d > Decimal::from(31)) {
        return Err(FieldError::invalid(
            &b.key("partial_month_divisor"),
            "按日折算的天数应在1至31之间",
            "partial_month_divisor is a number of days from 1 to 31",
        ));
    }
    if basic.capacity_price.is_none() && basic.demand_price.is_none() {
        return Err(FieldError::new(
            &b.key("capacity_price"),
            "required",
            "基本电费需要容量电价（capacity_price）或需量电价（demand_price）",
            "a basic charge needs capacity_price or demand_price",
        ));
    }
    if basic.high_use_kwh_per_kva.is_some() != basic.high_use_demand_factor.is_some() {
        return Err(FieldError::invalid(
            &b.key("high_use_demand_factor"),
            "high_use_kwh_per_kva 与 high_use_demand_factor 须同时设置",
            "high_use_kwh_per_kva and high_use_demand_factor go together",
        ));
    }
    if let Some(f) = basic.high_use_demand_factor {
        if f > Decimal::ONE {
            return Err(FieldError::invalid(
                &b.key("high_use_demand_factor"),
                format!("折扣系数不应大于1：{f}"),
                format!("the discount factor is at most 1: {f}"),
            ));
        }
    }
    Ok(basic)
}
