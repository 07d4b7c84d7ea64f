//! The register (营销档案): importing, exporting and editing customers, meters, contracts, reading
//! books, staff and the organisation.

mod export;
mod import;

pub use export::{export, ExportKind};
pub use import::{import, ImportKind, ImportReport, RejectedRow};

use crate::access::Actor;
use crate::error::{AppError, AppResult};
use bureau_domain::error::FieldError;
use bureau_domain::org::Role;
use bureau_domain::register::{Customer, CustomerDraft};
use bureau_store::{DynStore, StoreError};

/// Everything the counter shows about one customer.
#[derive(Clone, Debug, serde::Serialize)]
pub struct CustomerRecord {
    pub customer: Customer,
    pub meters: Vec<bureau_domain::register::Meter>,
    pub contracts: Vec<bureau_domain::register::Contract>,
    pub readings: Vec<bureau_store::Reading>,
}

/// Roles that may read the register.
pub const READERS: &[Role] = &[
    Role::CounterClerk,
    Role::Agent,
    Role::Dispatcher,
    Role::RepairCrew,
    Role::ProductionLeader,
    Role::Manager,
];

/// Roles that may change the register.
pub const WRITERS: &[Role] = &[Role::CounterClerk];

pub async fn search_customers(
    store: &DynStore,
    actor: &Actor,
    q: &str,
    limit: u32,
) -> AppResult<Vec<Customer>> {
    actor.require_any(READERS)?;
    Ok(store.search_customers(&actor.scope, q, limit.clamp(1, 200)).await?)
}

pub async fn customer_record(store: &DynStore, actor: &Actor, id: &str) -> AppResult<CustomerRecord> {
    actor.require_any(READERS)?;
    let customer =
        store.get_customer(&actor.scope, id).await.map_err(|e| AppError::or_not_found(e, "customer", id))?;
    Ok(CustomerRecord {
        meters: store.meters_of(id).await?,
        contracts: store.contracts_of(id).await?,
        readings: store.readings_of(id, 13).await?,
        customer,
    })
}

/// Opens a new account. An account number already in use is a conflict, never an overwrite.
pub async fn create_customer(store: &DynStore, actor: &Actor, draft: &CustomerDraft) -> AppResult<Customer> {
    actor.require_any(WRITERS)?;
    let c = draft.validate().map_err(AppError::Invalid)?;
    actor.require_bureau(&c.bureau_id)?;
    let refs = import::References::load(store).await?;
    let errors = refs.check_customer(store, &c).await?;
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    if store.customer_exists(c.id.as_str()).await? {
        return Err(AppError::Conflict(FieldError::new(
            "id",
            "duplicate",
            format!("户号{}已存在", c.id.as_str()),
            format!("account {} already exists", c.id.as_str()),
        )));
    }
    match store.insert_customers(std::slice::from_ref(&c)).await {
        Ok(1) => Ok(c),
        Ok(_) => Err(AppError::Conflict(FieldError::new(
            "id",
            "duplicate",
            format!("户号{}已存在", c.id.as_str()),
            format!("account {} already exists", c.id.as_str()),
        ))),
        Err(StoreError::Constraint { constraint }) => Err(AppError::Invalid(vec![FieldError::new(
            "id",
            "constraint",
            format!("违反数据约束：{constraint}"),
            format!("refused by a data rule: {constraint}"),
        )])),
        Err(e) => Err(e.into()),
    }
}

/// A meter exchange (换表) as the counter records it: the old meter's final reading and the new meter.
#[derive(Clone, Debug, Default, serde::Deserialize)]
pub struct MeterExchangeDraft {
    pub old_meter_id: String,
    pub old_final_reading: String,
    pub new_meter: bureau_domain::register::MeterDraft,
}

/// Exchanges the customer's active meter: the old one ends with its final reading on the day the
/// new one is installed, in one transaction, so the household always has exactly one active meter.
pub async fn exchange_meter(
    store: &DynStore,
    actor: &Actor,
    customer_id: &str,
    draft: &MeterExchangeDraft,
) -> AppResult<bureau_domain::register::Meter> {
    use bureau_domain::register::parse_register;
    actor.require_any(WRITERS)?;
    store
        .get_customer(&actor.scope, customer_id)
        .await
        .map_err(|e| AppError::or_not_found(e, "customer", customer_id))?;
    let mut new_draft = draft.new_meter.clone();
    new_draft.customer_id = customer_id.to_string();
    let mut errors = Vec::new();
    let final_reading = parse_register("old_final_reading", &draft.old_final_reading);
    let new = new_draft.validate();
    let meters = store.meters_of(customer_id).await?;
    let old = meters.iter().find(|m| m.meter_id == draft.old_meter_id.trim() && m.removed_on.is_none());
    if old.is_none() {
        errors.push(FieldError::new(
            "old_meter_id",
            "unknown",
            format!("该户没有在用电能表“{}”", draft.old_meter_id.trim()),
            format!("the customer has no active meter '{}'", draft.old_meter_id.trim()),
        ));
    }
    match (&final_reading, &new, old) {
        (Ok(reading), Ok(new), Some(old)) => {
            if new.installed_on < old.installed_on {
                errors.push(FieldError::invalid(
                    "new_meter.installed_on",
                    "新表装表日期早于旧表装表日期",
                    "the new meter is installed before the old one was",
                ));
            }
            if meters.iter().any(|m| m.meter_id == new.meter_id) {
                errors.push(FieldError::new(
                    "new_meter.meter_id",
                    "duplicate",
                    "该户已用过此资产编号",
                    "this asset number was already used at this customer",
                ));
            }
            if *reading >= rust_decimal::Decimal::from(10i64.pow(old.digits as u32)) {
                errors.push(FieldError::invalid(
                    "old_final_reading",
                    format!("示数超出{}位表计的量程", old.digits),
                    format!("reading exceeds the range of a {}-digit register", old.digits),
                ));
            }
        }
        _ => {
            if let Err(e) = &final_reading {
                errors.push(e.clone());
            }
            if let Err(es) = &new {
                errors.extend(es.iter().cloned().map(|mut e| {
                    e.field = format!("new_meter.{}", e.field);
                    e
                }));
            }
        }
    }
    let (reading, new) = match (final_reading, new) {
        (Ok(r), Ok(n)) if errors.is_empty() => (r, n),
        _ => return Err(AppError::Invalid(errors)),
    };
    store
        .exchange_meter(&bureau_store::MeterExchange {
            customer_id: customer_id.to_string(),
            old_meter_id: draft.old_meter_id.trim().to_string(),
            old_final_reading: reading,
            new_meter: new.clone(),
        })
        .await?;
    Ok(new)
}
