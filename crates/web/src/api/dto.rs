//! The shapes of the API: a contract with its clients, kept apart from the domain types so that the
//! domain can change without breaking them.

use bureau_domain::register as reg;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Serialize, Deserialize, ToSchema)]
pub struct Customer {
    /// Account number (户号), the customer id.
    pub id: String,
    pub bureau_id: String,
    pub name: String,
    pub address: String,
    pub phone: Option<String>,
    /// `residential` (居民生活), `agricultural` (农业生产) or `industrial_commercial` (工商业).
    pub class: String,
    /// `urban`, `rural` or `remote`: sets repair time limits.
    pub area: String,
    /// Distribution transformer (台区) or 10 kV connection node.
    pub supply_point: Option<String>,
    /// Reading book (抄表段).
    pub book_id: Option<String>,
}

impl From<&reg::Customer> for Customer {
    fn from(c: &reg::Customer) -> Self {
        Customer {
            id: c.id.as_str().into(),
            bureau_id: c.bureau_id.clone(),
            name: c.name.clone(),
            address: c.address.clone(),
            phone: c.phone.clone(),
            class: c.class.code().into(),
            area: c.area.code().into(),
            supply_point: c.supply_point.clone(),
            book_id: c.book_id.clone(),
        }
    }
}

/// A new customer, as typed at the counter: every field is text and is validated by the server.
#[derive(Deserialize, ToSchema)]
pub struct NewCustomer {
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

impl From<NewCustomer> for reg::CustomerDraft {
    fn from(n: NewCustomer) -> Self {
        reg::CustomerDraft {
            id: n.id,
            bureau_id: n.bureau_id,
            name: n.name,
            address: n.address,
            phone: n.phone,
            class: n.class,
            area: n.area,
            supply_point: n.supply_point,
            book_id: n.book_id,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct Meter {
    /// Asset number (资产编号).
    pub meter_id: String,
    /// 倍率.
    pub multiplier: i64,
    pub digits: i64,
    pub tou: bool,
    pub installed_on: String,
    pub initial_reading: String,
    pub removed_on: Option<String>,
    pub final_reading: Option<String>,
}

impl From<&reg::Meter> for Meter {
    fn from(m: &reg::Meter) -> Self {
        Meter {
            meter_id: m.meter_id.clone(),
            multiplier: m.multiplier,
            digits: m.digits,
            tou: m.tou,
            installed_on: m.installed_on.to_string(),
            initial_reading: m.initial_reading.to_string(),
            removed_on: m.removed_on.map(|d| d.to_string()),
            final_reading: m.final_reading.map(|d| d.to_string()),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct Contract {
    pub contract_id: String,
    pub tariff_id: String,
    /// Contracted capacity in kVA, a decimal string.
    pub capacity_kva: String,
    /// Power-factor standard (0.90, 0.85, 0.80) if assessed.
    pub pf_standard: Option<String>,
    /// Bills fall due this many days after issue.
    pub due_days: i64,
    pub effective_from: String,
    pub effective_to: Option<String>,
}

impl From<&reg::Contract> for Contract {
    fn from(c: &reg::Contract) -> Self {
        Contract {
            contract_id: c.contract_id.clone(),
            tariff_id: c.tariff_id.clone(),
            capacity_kva: c.capacity_kva.to_string(),
            pf_standard: c.pf_standard.map(|p| format!("{p:.2}")),
            due_days: c.due_days,
            effective_from: c.effective_from.to_string(),
            effective_to: c.effective_to.map(|d| d.to_string()),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct Reading {
    pub meter_id: String,
    pub read_on: String,
    /// `actual` or `estimated`.
    pub kind: String,
    pub source: String,
    /// Register values before the multiplier, decimal strings.
    pub total: String,
    pub peak: Option<String>,
    pub flat: Option<String>,
    pub valley: Option<String>,
    pub max_demand: Option<String>,
    pub kvarh: Option<String>,
}

impl From<&bureau_store::Reading> for Reading {
    fn from(r: &bureau_store::Reading) -> Self {
        let s = |d: &Option<rust_decimal::Decimal>| d.map(|v| v.to_string());
        Reading {
            meter_id: r.meter_id.clone(),
            read_on: r.read_on.clone(),
            kind: r.kind.code().into(),
            source: r.source.clone(),
            total: r.total.to_string(),
            peak: s(&r.peak),
            flat: s(&r.flat),
            valley: s(&r.valley),
            max_demand: s(&r.max_demand),
            kvarh: s(&r.kvarh),
        }
    }
}

/// Everything the counter shows about one customer.
#[derive(Serialize, ToSchema)]
pub struct CustomerRecord {
    pub customer: Customer,
    /// Every meter the customer has had, newest first; the active one has no `removed_on`.
    pub meters: Vec<Meter>,
    pub contracts: Vec<Contract>,
    /// The latest readings, newest first.
    pub readings: Vec<Reading>,
}

#[derive(Serialize, ToSchema)]
pub struct ReadingBook {
    pub id: String,
    pub bureau_id: String,
    pub name: String,
    /// 抄表例日, 1–28.
    pub reading_day: i64,
    pub reader_id: Option<String>,
}

impl From<&reg::ReadingBook> for ReadingBook {
    fn from(b: &reg::ReadingBook) -> Self {
        ReadingBook {
            id: b.id.clone(),
            bureau_id: b.bureau_id.clone(),
            name: b.name.clone(),
            reading_day: b.reading_day,
            reader_id: b.reader_id.clone(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct StaffMember {
    pub id: String,
    pub name: String,
    pub org_unit_id: String,
    pub bureau_id: String,
    pub roles: Vec<String>,
    pub phone: Option<String>,
    pub active: bool,
}

impl From<&bureau_store::Staff> for StaffMember {
    fn from(s: &bureau_store::Staff) -> Self {
        StaffMember {
            id: s.id.clone(),
            name: s.name.clone(),
            org_unit_id: s.org_unit_id.clone(),
            bureau_id: s.bureau_id.clone(),
            roles: s.roles.iter().map(|r| r.code().to_string()).collect(),
            phone: s.phone.clone(),
            active: s.active,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct OrgUnit {
    pub id: String,
    pub parent_id: Option<String>,
    /// `province`, `city`, `county`, `department` or `office`.
    pub level: String,
    pub name_zh: String,
    pub name_en: String,
}

impl From<&bureau_store::OrgUnit> for OrgUnit {
    fn from(u: &bureau_store::OrgUnit) -> Self {
        OrgUnit {
            id: u.id.clone(),
            parent_id: u.parent_id.clone(),
            level: u.level.code().into(),
            name_zh: u.name_zh.clone(),
            name_en: u.name_en.clone(),
        }
    }
}

#[derive(Deserialize, ToSchema)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
    /// `zh` (default) or `en`: the language of this session's answers.
    #[serde(default)]
    pub lang: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct LoginResponse {
    /// Send as `Authorization: Bearer <token>`.
    pub token: String,
    pub expires_in_seconds: i64,
}

#[derive(Serialize, ToSchema)]
pub struct Me {
    pub id: String,
    pub name: String,
    pub bureau_id: String,
    pub roles: Vec<String>,
    /// Bureaus whose data this login may see; `null` means all.
    pub scope: Option<Vec<String>>,
    pub lang: String,
}

#[derive(Serialize, ToSchema)]
pub struct RejectedRow {
    /// Line in the file; the header is line 1.
    pub line: u64,
    pub field: String,
    pub code: String,
    pub message: String,
}

#[derive(Serialize, ToSchema)]
pub struct ImportReport {
    pub rows: u64,
    pub written: u64,
    pub unchanged: u64,
    pub rejected: Vec<RejectedRow>,
}

impl ImportReport {
    pub fn new(r: &bureau_app::register::ImportReport, lang: bureau_domain::i18n::Lang) -> Self {
        ImportReport {
            rows: r.rows,
            written: r.written,
            unchanged: r.unchanged,
            rejected: r
                .rejected
                .iter()
                .map(|x| RejectedRow {
                    line: x.line,
                    field: x.field.clone(),
                    code: x.code.clone(),
                    message: x.message.get(lang).to_string(),
                })
                .collect(),
        }
    }
}

/// A new meter, as typed at the counter (text fields, validated by the server).
#[derive(Deserialize, ToSchema)]
pub struct NewMeter {
    /// Asset number (资产编号).
    pub meter_id: String,
    /// 倍率, e.g. "1" or "200".
    pub multiplier: String,
    /// Register digits, "4" to "10".
    pub digits: String,
    /// "yes"/"no" (是/否).
    #[serde(default)]
    pub tou: String,
    /// YYYY-MM-DD
    pub installed_on: String,
    #[serde(default)]
    pub initial_reading: String,
}

/// A meter exchange (换表).
#[derive(Deserialize, ToSchema)]
pub struct MeterExchange {
    pub old_meter_id: String,
    /// The old meter's final register reading.
    pub old_final_reading: String,
    pub new_meter: NewMeter,
}

impl From<MeterExchange> for bureau_app::register::MeterExchangeDraft {
    fn from(x: MeterExchange) -> Self {
        bureau_app::register::MeterExchangeDraft {
            old_meter_id: x.old_meter_id,
            old_final_reading: x.old_final_reading,
            new_meter: reg::MeterDraft {
                customer_id: String::new(),
                meter_id: x.new_meter.meter_id,
                multiplier: x.new_meter.multiplier,
                digits: x.new_meter.digits,
                tou: x.new_meter.tou,
                installed_on: x.new_meter.installed_on,
                initial_reading: x.new_meter.initial_reading,
            },
        }
    }
}
