//! The register (营销档案): customers, their meters, contracts and reading books.
//!
//! These types validate on construction, so that a value of them is always well formed. Checks that
//! need the database (an unknown bureau, a duplicate account) belong to the app services.

use crate::error::{required, FieldError};
use crate::org::coded_enum;
use jiff::civil::Date;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

coded_enum!(
    /// Customer class of the sales tariff, three classes since 2023-06-01 (发改价格〔2023〕526号).
    CustomerClass, "class" {
        Residential = "residential", "居民生活", "Residential";
        Agricultural = "agricultural", "农业生产", "Agricultural";
        IndustrialCommercial = "industrial_commercial", "工商业", "Industrial & commercial";
    }
);

coded_enum!(
    /// Service area class; it sets the repair arrival time limit (城区 45 min, 农村 90 min,
    /// 特殊边远 2 h: State Grid 供电服务"十项承诺").
    ServiceArea, "area" {
        Urban = "urban", "城区", "Urban";
        Rural = "rural", "农村", "Rural";
        Remote = "remote", "特殊边远", "Remote";
    }
);

/// The account number (户号). It is the customer id: every customer-owned row leads its key with it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AccountNo(String);

impl AccountNo {
    /// 4 to 20 ASCII letters or digits: wide enough for the account schemes of every province.
    pub fn parse(field: &str, text: &str) -> Result<AccountNo, FieldError> {
        let t = required(field, text)?;
        if !(4..=20).contains(&t.len()) || !t.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(FieldError::invalid(
                field,
                format!("户号应为4至20位字母或数字：{t}"),
                format!("an account number is 4 to 20 letters or digits: {t}"),
            ));
        }
        Ok(AccountNo(t.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Reads a code-like identifier (bureau, book, meter asset number, transformer): 1 to 32 letters,
/// digits, `-` or `_`.
pub fn parse_code(field: &str, text: &str) -> Result<String, FieldError> {
    let t = required(field, text)?;
    if t.len() > 32 || !t.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        return Err(FieldError::invalid(
            field,
            format!("编号应为1至32位字母、数字、“-”或“_”：{t}"),
            format!("a code is 1 to 32 letters, digits, '-' or '_': {t}"),
        ));
    }
    Ok(t.to_string())
}

/// Reads a name or address: required, at most `max` characters.
pub fn parse_text(field: &str, text: &str, max: usize) -> Result<String, FieldError> {
    let t = required(field, text)?;
    if t.chars().count() > max {
        return Err(FieldError::invalid(
            field,
            format!("长度不能超过{max}个字符"),
            format!("at most {max} characters"),
        ));
    }
    Ok(t.to_string())
}

/// A phone number: 7 to 15 digits, optionally with a leading `+` and `-` or space separators
/// (mobile 11 digits; fixed lines with an area code such as 0451-12345678).
pub fn parse_phone(field: &str, text: &str) -> Result<Option<String>, FieldError> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(None);
    }
    let body = t.strip_prefix('+').unwrap_or(t);
    let digits = body.chars().filter(|c| c.is_ascii_digit()).count();
    let ok = body.chars().all(|c| c.is_ascii_digit() || c == '-' || c == ' ');
    if !ok || !(7..=15).contains(&digits) {
        return Err(FieldError::invalid(
            field,
            format!("电话号码格式不正确：{t}"),
            format!("not a valid phone number: {t}"),
        ));
    }
    Ok(Some(t.to_string()))
}

/// A calendar date written `YYYY-MM-DD`.
pub fn parse_date(field: &str, text: &str) -> Result<Date, FieldError> {
    let t = required(field, text)?;
    t.parse::<Date>().map_err(|_| {
        FieldError::invalid(
            field,
            format!("日期应为YYYY-MM-DD格式：{t}"),
            format!("a date is written YYYY-MM-DD: {t}"),
        )
    })
}

/// An optional date: empty means none.
pub fn parse_opt_date(field: &str, text: &str) -> Result<Option<Date>, FieldError> {
    if text.trim().is_empty() {
        Ok(None)
    } else {
        parse_date(field, text).map(Some)
    }
}

/// Yes or no, in the forms people type into spreadsheets.
pub fn parse_bool(field: &str, text: &str) -> Result<bool, FieldError> {
    match text.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "y" | "是" => Ok(true),
        "0" | "false" | "no" | "n" | "否" | "" => Ok(false),
        t => Err(FieldError::invalid(
            field,
            format!("应为“是”或“否”：{t}"),
            format!("expected yes or no: {t}"),
        )),
    }
}

/// An integer within a range.
pub fn parse_int_in(field: &str, text: &str, lo: i64, hi: i64) -> Result<i64, FieldError> {
    let t = required(field, text)?;
    match t.parse::<i64>() {
        Ok(v) if (lo..=hi).contains(&v) => Ok(v),
        _ => Err(FieldError::invalid(
            field,
            format!("应为{lo}至{hi}之间的整数：{t}"),
            format!("expected a whole number from {lo} to {hi}: {t}"),
        )),
    }
}

/// A customer as the register holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Customer {
    pub id: AccountNo,
    pub bureau_id: String,
    pub name: String,
    pub address: String,
    pub phone: Option<String>,
    pub class: CustomerClass,
    pub area: ServiceArea,
    /// The supply point on the grid: a distribution transformer (台区) or a 10 kV connection node.
    pub supply_point: Option<String>,
    /// The reading book (抄表段) this customer's meter is read in.
    pub book_id: Option<String>,
}

/// A customer as typed into a form or a CSV row: every field is text until validated.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct CustomerDraft {
    pub id: String,
    pub bureau_id: String,
    pub name: String,
    pub address: String,
    #[serde(default)]
    pub phone: String,
    pub class: String,
    pub area: String,
    #[serde(default)]
    pub supply_point: String,
    #[serde(default)]
    pub book_id: String,
}

/// Collects every field error of a record, not just the first, so that a clerk fixes a row once.
#[derive(Default)]
pub struct Errors(pub Vec<FieldError>);

impl Errors {
    pub fn take<T>(&mut self, r: Result<T, FieldError>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.0.push(e);
                None
            }
        }
    }
}

fn opt_code(field: &str, text: &str) -> Result<Option<String>, FieldError> {
    if text.trim().is_empty() {
        Ok(None)
    } else {
        parse_code(field, text).map(Some)
    }
}

impl CustomerDraft {
    pub fn validate(&self) -> Result<Customer, Vec<FieldError>> {
        let mut e = Errors::default();
        let id = e.take(AccountNo::parse("id", &self.id));
        let bureau_id = e.take(parse_code("bureau_id", &self.bureau_id));
        let name = e.take(parse_text("name", &self.name, 100));
        let address = e.take(parse_text("address", &self.address, 200));
        let phone = e.take(parse_phone("phone", &self.phone));
        let class = e.take(CustomerClass::parse(&self.class));
        let area = e.take(ServiceArea::parse(&self.area));
        let supply_point = e.take(opt_code("supply_point", &self.supply_point));
        let book_id = e.take(opt_code("book_id", &self.book_id));
        match (id, bureau_id, name, address, phone, class, area, supply_point, book_id) {
            (
                Some(id),
                Some(bureau_id),
                Some(name),
                Some(address),
                Some(phone),
                Some(class),
                Some(area),
                Some(supply_point),
                Some(book_id),
            ) => Ok(Customer { id, bureau_id, name, address, phone, class, area, supply_point, book_id }),
            _ => Err(e.0),
        }
    }
}

/// An electricity meter (电能表) at a customer's meter point. One active meter per household
/// (一户一表); an exchange (换表) ends the old meter and starts a new one, and both stay on record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meter {
    pub customer_id: AccountNo,
    /// Asset number (资产编号).
    pub meter_id: String,
    /// Multiplier (倍率): register units × multiplier = kWh; 1 for direct-connected meters, the CT×PT
    /// ratio product for transformer-rated ones.
    pub multiplier: i64,
    /// Number of register digits (整数位数); a reading that wraps past 10^digits rolled over.
    pub digits: i64,
    /// Time-of-use capable (分时表): has peak, flat and valley registers.
    pub tou: bool,
    pub installed_on: Date,
    /// Register reading when installed.
    pub initial_reading: Decimal,
    pub removed_on: Option<Date>,
    pub final_reading: Option<Decimal>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct MeterDraft {
    /// Filled from the URL when a meter is added to a known customer.
    #[serde(default)]
    pub customer_id: String,
    pub meter_id: String,
    pub multiplier: String,
    pub digits: String,
    #[serde(default)]
    pub tou: String,
    pub installed_on: String,
    #[serde(default)]
    pub initial_reading: String,
}

/// A register reading: non-negative, at most 2 decimal places (the resolution of a register).
pub fn parse_register(field: &str, text: &str) -> Result<Decimal, FieldError> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(Decimal::ZERO);
    }
    match t.parse::<Decimal>() {
        Ok(d) if !d.is_sign_negative() && d.normalize().scale() <= 2 => Ok(d.normalize()),
        _ => Err(FieldError::invalid(
            field,
            format!("示数应为非负数，最多两位小数：{t}"),
            format!("a register reading is a non-negative number with at most 2 decimals: {t}"),
        )),
    }
}

impl MeterDraft {
    pub fn validate(&self) -> Result<Meter, Vec<FieldError>> {
        let mut e = Errors::default();
        let customer_id = e.take(AccountNo::parse("customer_id", &self.customer_id));
        let meter_id = e.take(parse_code("meter_id", &self.meter_id));
        let multiplier = e.take(parse_int_in("multiplier", &self.multiplier, 1, 1_000_000));
        let digits = e.take(parse_int_in("digits", &self.digits, 4, 10));
        let tou = e.take(parse_bool("tou", &self.tou));
        let installed_on = e.take(parse_date("installed_on", &self.installed_on));
        let initial_reading = e.take(parse_register("initial_reading", &self.initial_reading));
        match (customer_id, meter_id, multiplier, digits, tou, installed_on, initial_reading) {
            (
                Some(customer_id),
                Some(meter_id),
                Some(multiplier),
                Some(digits),
                Some(tou),
                Some(installed_on),
                Some(initial_reading),
            ) => {
                if initial_reading >= Decimal::from(10i64.pow(digits as u32)) {
                    return Err(vec![FieldError::invalid(
                        "initial_reading",
                        format!("示数超出{digits}位表计的量程"),
                        format!("reading exceeds the range of a {digits}-digit register"),
                    )]);
                }
                Ok(Meter {
                    customer_id,
                    meter_id,
                    multiplier,
                    digits,
                    tou,
                    installed_on,
                    initial_reading,
                    removed_on: None,
                    final_reading: None,
                })
            }
            _ => Err(e.0),
        }
    }
}

/// The power-factor standards of the 1983 adjustment rules (《功率因数调整电费办法》,
/// 水电财字〔1983〕215号): 0.90, 0.85 or 0.80 by customer type and capacity.
pub const POWER_FACTOR_STANDARDS: [&str; 3] = ["0.90", "0.85", "0.80"];

/// A supply contract (供用电合同): which tariff, how much capacity, when bills fall due.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contract {
    pub customer_id: AccountNo,
    pub contract_id: String,
    pub tariff_id: String,
    /// Contracted capacity (合同容量) in kVA.
    pub capacity_kva: Decimal,
    /// Power-factor standard (力率考核标准), if the customer is assessed.
    pub pf_standard: Option<Decimal>,
    /// Payment due rule: the bill is due this many days after issue.
    pub due_days: i64,
    pub effective_from: Date,
    pub effective_to: Option<Date>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct ContractDraft {
    pub customer_id: String,
    pub contract_id: String,
    pub tariff_id: String,
    #[serde(default)]
    pub capacity_kva: String,
    #[serde(default)]
    pub pf_standard: String,
    pub due_days: String,
    pub effective_from: String,
    #[serde(default)]
    pub effective_to: String,
}

impl ContractDraft {
    pub fn validate(&self) -> Result<Contract, Vec<FieldError>> {
        let mut e = Errors::default();
        let customer_id = e.take(AccountNo::parse("customer_id", &self.customer_id));
        let contract_id = e.take(parse_code("contract_id", &self.contract_id));
        let tariff_id = e.take(parse_code("tariff_id", &self.tariff_id));
        let capacity_kva = e.take(parse_capacity(&self.capacity_kva));
        let pf_standard = e.take(parse_pf_standard(&self.pf_standard));
        let due_days = e.take(parse_int_in("due_days", &self.due_days, 1, 90));
        let effective_from = e.take(parse_date("effective_from", &self.effective_from));
        let effective_to = e.take(parse_opt_date("effective_to", &self.effective_to));
        match (
            customer_id,
            contract_id,
            tariff_id,
            capacity_kva,
            pf_standard,
            due_days,
            effective_from,
            effective_to,
        ) {
            (
                Some(customer_id),
                Some(contract_id),
                Some(tariff_id),
                Some(capacity_kva),
                Some(pf_standard),
                Some(due_days),
                Some(effective_from),
                Some(effective_to),
            ) => {
                if effective_to.is_some_and(|to| to < effective_from) {
                    return Err(vec![FieldError::invalid(
                        "effective_to",
                        "终止日期不能早于生效日期",
                        "the end date is before the start date",
                    )]);
                }
                Ok(Contract {
                    customer_id,
                    contract_id,
                    tariff_id,
                    capacity_kva,
                    pf_standard,
                    due_days,
                    effective_from,
                    effective_to,
                })
            }
            _ => Err(e.0),
        }
    }
}

fn parse_capacity(text: &str) -> Result<Decimal, FieldError> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(Decimal::ZERO);
    }
    match t.parse::<Decimal>() {
        Ok(d) if !d.is_sign_negative() && d <= Decimal::from(10_000_000) => Ok(d.normalize()),
        _ => Err(FieldError::invalid(
            "capacity_kva",
            format!("容量应为非负数（kVA）：{t}"),
            format!("capacity is a non-negative number of kVA: {t}"),
        )),
    }
}

fn parse_pf_standard(text: &str) -> Result<Option<Decimal>, FieldError> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(None);
    }
    let wanted: Option<Decimal> = t.parse().ok();
    POWER_FACTOR_STANDARDS
        .iter()
        .map(|s| s.parse::<Decimal>().expect("constant"))
        .find(|s| Some(*s) == wanted)
        .map(Some)
        .ok_or_else(|| {
            FieldError::invalid(
                "pf_standard",
                format!("功率因数考核标准应为0.90、0.85或0.80：{t}"),
                format!("the power-factor standard is 0.90, 0.85 or 0.80: {t}"),
            )
        })
}

/// A reading book (抄表段): a round of meters read together on the reading day (抄表例日).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadingBook {
    pub id: String,
    pub bureau_id: String,
    pub name: String,
    /// Day of the month, 1 to 28 so that every month has it.
    pub reading_day: i64,
    /// Staff id of the assigned meter reader.
    pub reader_id: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct ReadingBookDraft {
    pub id: String,
    pub bureau_id: String,
    pub name: String,
    pub reading_day: String,
    #[serde(default)]
    pub reader_id: String,
}

impl ReadingBookDraft {
    pub fn validate(&self) -> Result<ReadingBook, Vec<FieldError>> {
        let mut e = Errors::default();
        let id = e.take(parse_code("id", &self.id));
        let bureau_id = e.take(parse_code("bureau_id", &self.bureau_id));
        let name = e.take(parse_text("name", &self.name, 100));
        let reading_day = e.take(parse_int_in("reading_day", &self.reading_day, 1, 28));
        let reader_id = e.take(opt_code("reader_id", &self.reader_id));
        match (id, bureau_id, name, reading_day, reader_id) {
            (Some(id), Some(bureau_id), Some(name), Some(reading_day), Some(reader_id)) => {
                Ok(ReadingBook { id, bureau_id, name, reading_day, reader_id })
            }
            _ => Err(e.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn good_customer() -> CustomerDraft {
        CustomerDraft {
            id: "2301000001".into(),
            bureau_id: "HLJ-A-X".into(),
            name: "张三".into(),
            address: "建设街12号".into(),
            phone: "13804510001".into(),
            class: "居民生活".into(),
            area: "urban".into(),
            supply_point: "T001".into(),
            book_id: "B01".into(),
        }
    }

    #[test]
    fn a_good_customer_validates() {
        let c = good_customer().validate().unwrap();
        assert_eq!(c.class, CustomerClass::Residential);
        assert_eq!(c.area, ServiceArea::Urban);
        assert_eq!(c.id.as_str(), "2301000001");
    }

    #[test]
    fn every_bad_field_is_reported() {
        let mut d = good_customer();
        d.id = "12".into();
        d.phone = "call me".into();
        d.class = "household".into();
        let errs = d.validate().unwrap_err();
        let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, vec!["id", "phone", "class"]);
    }

    #[test]
    fn phone_forms() {
        assert_eq!(parse_phone("phone", "0451-12345678").unwrap().as_deref(), Some("0451-12345678"));
        assert_eq!(parse_phone("phone", "").unwrap(), None);
        assert!(parse_phone("phone", "123").is_err());
    }

    #[test]
    fn contract_checks_power_factor_and_dates() {
        let d = ContractDraft {
            customer_id: "2301000001".into(),
            contract_id: "C1".into(),
            tariff_id: "example-two-part".into(),
            capacity_kva: "630".into(),
            pf_standard: "0.9".into(),
            due_days: "15".into(),
            effective_from: "2026-01-01".into(),
            effective_to: "".into(),
        };
        let c = d.validate().unwrap();
        assert_eq!(c.pf_standard, Some("0.90".parse().unwrap()));
        let bad = ContractDraft { pf_standard: "0.95".into(), ..d.clone() }.validate().unwrap_err();
        assert_eq!(bad[0].field, "pf_standard");
        let bad = ContractDraft { effective_to: "2025-12-31".into(), ..d }.validate().unwrap_err();
        assert_eq!(bad[0].field, "effective_to");
    }

    #[test]
    fn meter_reading_must_fit_its_digits() {
        let d = MeterDraft {
            customer_id: "2301000001".into(),
            meter_id: "M1".into(),
            multiplier: "1".into(),
            digits: "4".into(),
            tou: "否".into(),
            installed_on: "2020-05-01".into(),
            initial_reading: "10000".into(),
        };
        assert_eq!(d.validate().unwrap_err()[0].field, "initial_reading");
    }

    #[test]
    fn reading_day_is_1_to_28() {
        let d = ReadingBookDraft {
            id: "B1".into(),
            bureau_id: "X".into(),
            name: "城区一段".into(),
            reading_day: "31".into(),
            reader_id: "".into(),
        };
        assert_eq!(d.validate().unwrap_err()[0].field, "reading_day");
    }
}
