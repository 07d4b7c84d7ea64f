//! Rows the store exchanges that are not already domain types.

use bureau_domain::org::{OrgLevel, Role};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// A unit of the organisation (省公司, 市局, 县局, 科室, 营业所).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgUnit {
    pub id: String,
    pub parent_id: Option<String>,
    pub level: OrgLevel,
    pub name_zh: String,
    pub name_en: String,
}

/// A member of staff. `id` is the login name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Staff {
    pub id: String,
    pub name: String,
    /// The unit they work in (a department or office).
    pub org_unit_id: String,
    /// The bureau that unit belongs to; their records live there.
    pub bureau_id: String,
    /// The unit whose subtree of bureaus they may see: normally their own bureau.
    pub scope_unit_id: String,
    pub roles: Vec<Role>,
    pub phone: Option<String>,
    /// Argon2id PHC string; never serialised out.
    #[serde(skip_serializing)]
    pub password_hash: String,
    pub active: bool,
}

/// Who a session belongs to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Subject {
    Staff(String),
    Customer(String),
}

/// A login session. Only the SHA-256 of the token is stored, so a stolen database copy cannot be
/// replayed as a cookie.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    pub token_hash: String,
    pub subject: Subject,
    pub lang: String,
    pub created_at: i64,
    pub expires_at: i64,
}

/// A meter exchange (换表): the old meter's final reading and the new meter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MeterExchange {
    pub customer_id: String,
    pub old_meter_id: String,
    pub old_final_reading: Decimal,
    pub new_meter: bureau_domain::register::Meter,
}

/// How a reading was obtained.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReadingKind {
    /// 实抄: read from the register (by a reader or by AMI).
    Actual,
    /// 估抄: estimated when the meter could not be read (供电营业规则 Art. 83), trued up later.
    Estimated,
}

impl ReadingKind {
    pub fn code(self) -> &'static str {
        match self {
            ReadingKind::Actual => "actual",
            ReadingKind::Estimated => "estimated",
        }
    }
    pub fn parse(s: &str) -> Option<ReadingKind> {
        match s {
            "actual" => Some(ReadingKind::Actual),
            "estimated" => Some(ReadingKind::Estimated),
            _ => None,
        }
    }
}

/// A meter reading on one day: register values, before the multiplier.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reading {
    pub customer_id: String,
    pub meter_id: String,
    pub read_on: String,
    pub kind: ReadingKind,
    /// Where it came from: `manual`, `ami`, `import`, `estimate`.
    pub source: String,
    pub total: Decimal,
    pub peak: Option<Decimal>,
    pub flat: Option<Decimal>,
    pub valley: Option<Decimal>,
    /// Maximum demand register (kW before multiplier), for demand-billed customers.
    pub max_demand: Option<Decimal>,
    /// Reactive energy register (kvarh before multiplier), for power-factor adjustment.
    pub kvarh: Option<Decimal>,
}

/// kWh consumed in one month, for the manager's dashboard.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MonthlyConsumption {
    pub month: String,
    pub kwh: Decimal,
    pub customers: u64,
}

/// A grid node row: a source (substation bus), a bus, or a load point (a distribution transformer
/// 台区 or a 10 kV customer connection).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GridNode {
    pub id: String,
    pub bureau_id: String,
    pub kind: String,
    pub name: String,
    pub customers: i64,
    pub avg_kw: f64,
    pub peak_kw: f64,
}

/// A grid branch row: a line section, a transformer or a switching device.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GridBranch {
    pub id: String,
    pub bureau_id: String,
    pub from_node: String,
    pub to_node: String,
    pub kind: String,
    pub normal_open: bool,
    pub is_open: bool,
    pub length_km: f64,
    pub failure_rate: f64,
    pub repair_h: f64,
}

/// Customers with everything that hangs on them, loaded together.
#[derive(Clone, Debug, Default)]
pub struct RegisterBatch {
    pub customers: Vec<bureau_domain::register::Customer>,
    pub meters: Vec<bureau_domain::register::Meter>,
    pub contracts: Vec<bureau_domain::register::Contract>,
    pub readings: Vec<Reading>,
}
