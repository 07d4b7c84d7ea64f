//! Reversal (冲正) of a mistaken entry, with a second staff member's approval.
//!
//! What a real counter does: the clerk who took the money asks for the reversal with a reason, and
//! the supervisor (营业班长 — a manager) approves it on the spot by entering their own user name and
//! password at the same terminal. So the reversal is one call carrying both identities; the
//! approver's password is checked again here, the approver must be a different, active staff member
//! holding the manager role, and the reason is required (`bureau_domain::ledger::check_reversal`).
//! A payment is reversed together with the late fees that were posted with it, so the balances
//! afterwards are exactly those before the payment.

use super::account::{customer_in_scope, Account};
use super::post::busy;
use super::COUNTER_ROLES;
use crate::access::Actor;
use crate::auth::verify_password;
use crate::error::{AppError, AppResult};
use bureau_domain::calendar::beijing;
use bureau_domain::error::FieldError;
use bureau_domain::late_fee::LateFeeRules;
use bureau_domain::ledger::{check_reversal, Channel, Entry, EntryId, EntryKind, ReversalRequest};
use bureau_domain::org::Role;
use bureau_store::{DynStore, Posted, StoreError};
use serde::{Deserialize, Serialize};

/// Roles that may approve a reversal.
const APPROVER_ROLES: &[Role] = &[Role::Manager, Role::Admin];

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct ReversalForm {
    pub account_no: String,
    /// The entry to reverse (a payment, a late fee, an adjustment or a refund).
    pub entry_id: String,
    pub reason: String,
    /// The approving supervisor's user name and password, entered at the counter.
    pub approver: String,
    pub approver_password: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct ReversalResult {
    /// The reversal entries posted (the entry, and a payment's late fees).
    pub reversals: Vec<Entry>,
    pub account: Account,
}

fn approver_error(code: &'static str, zh: &str, en: &str) -> AppError {
    AppError::Invalid(vec![FieldError::new("approver", code, zh, en)])
}

/// What a second staff member approves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Approval {
    Reversal,
    Refund,
}

impl Approval {
    fn noun(self) -> (&'static str, &'static str) {
        match self {
            Approval::Reversal => ("冲正", "a reversal"),
            Approval::Refund => ("退费", "a refund"),
        }
    }
}

/// Checks the approver: a different person, active, with a manager role, and the right password.
/// A wrong name and a wrong password get the same answer.
pub(crate) async fn check_approver(
    store: &DynStore,
    actor: &Actor,
    approver: &str,
    password: &str,
    what: Approval,
) -> AppResult<String> {
    let name = approver.trim();
    if name.is_empty() {
        let (zh, en) = what.noun();
        return Err(approver_error(
            "required",
            &format!("{zh}须由另一名工作人员审批"),
            &format!("{en} must be approved by a second staff member"),
        ));
    }
    if name == actor.staff_id {
        return Err(approver_error(
            "same_person",
            "审批人不能是申请人本人",
            "the approver must be a different person from the requester",
        ));
    }
    let wrong = || {
        approver_error("wrong_credentials", "审批人用户名或密码错误", "wrong approver user name or password")
    };
    let staff = match store.get_staff(name).await {
        Ok(s) => s,
        Err(StoreError::NotFound) => return Err(wrong()),
        Err(e) => return Err(e.into()),
    };
    if !staff.active || !verify_password(password, &staff.password_hash) {
        return Err(wrong());
    }
    if !staff.roles.iter().any(|r| APPROVER_ROLES.contains(r)) {
        return Err(approver_error(
            "not_allowed",
            "审批人须为管理人员",
            "the approver must hold the manager role",
        ));
    }
    if !actor.scope.allows(&staff.bureau_id) {
        return Err(approver_error(
            "not_allowed",
            "审批人不属于本单位",
            "the approver is not from a bureau in your scope",
        ));
    }
    Ok(staff.id)
}

/// Reverses an entry (and, for a payment, the late fees posted with it).
pub async fn reverse_entry(
    store: &DynStore,
    actor: &Actor,
    rules: &LateFeeRules,
    form: &ReversalForm,
) -> AppResult<ReversalResult> {
    actor.require_any(COUNTER_ROLES)?;
    let customer = customer_in_scope(store, actor, form.account_no.trim()).await?;
    let approver =
        check_approver(store, actor, &form.approver, &form.approver_password, Approval::Reversal).await?;
    let account = customer.id.as_str().to_string();
    for _ in 0..20 {
        let ledger = store.ledger_of(&account).await?;
        let of = EntryId(form.entry_id.trim().to_string());
        let mut targets = vec![of.clone()];
        if matches!(
            ledger.entries.iter().find(|e| e.id == of),
            Some(Entry { kind: EntryKind::Payment { .. }, .. })
        ) {
            let prefix = format!("fee-{}-", of.0.trim_start_matches("pay-"));
            targets
                .extend(ledger.entries.iter().filter(|e| e.id.0.starts_with(&prefix)).map(|e| e.id.clone()));
        }
        let at = super::ledger_instant(jiff::Timestamp::now());
        let mut reversals = Vec::new();
        let mut checked = ledger.entries.clone();
        // The late fees first: a bill's fee is reversed before anything it depends on.
        for target in targets.iter().rev() {
            let req = ReversalRequest {
                of: target.clone(),
                reason: form.reason.clone(),
                requested_by: actor.staff_id.clone(),
                approved_by: Some(approver.clone()),
            };
            check_reversal(&checked, &req).map_err(AppError::Invalid)?;
            let e = req.into_entry(EntryId(crate::outbox::new_id("rev-")), at, Channel::Counter);
            checked.push(e.clone());
            reversals.push(e);
        }
        match store.post_entries(&account, ledger.version, &reversals).await {
            Ok(Posted::Done { version }) => {
                let on = beijing::date_of(at);
                let account = Account::from_entries(customer, version, checked, rules, on);
                return Ok(ReversalResult { reversals, account });
            }
            Ok(Posted::Stale) => continue,
            Ok(Posted::Duplicate { .. }) => return Err(busy()),
            Err(StoreError::Constraint { .. }) => {
                return Err(AppError::Conflict(FieldError::new(
                    "entry_id",
                    "duplicate",
                    format!("记录 {} 已冲正", form.entry_id.trim()),
                    format!("entry {} is already reversed", form.entry_id.trim()),
                )))
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(busy())
}
