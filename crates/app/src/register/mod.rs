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
