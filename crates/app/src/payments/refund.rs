//! Refunds (退费) of credit: never more than the credit the ledger shows, and, as a reversal, only
//! with a second staff member's approval (the supervisor enters their user name and password at the
//! counter; see `reversal::check_approver`). Money leaves the bureau here, so one person alone may
//! not do it; the approver is written into the refund entry's reason.
//!
//! The form carries the ledger version the clerk saw (the account page shows it): a refund is
//! posted only on that version, so a double-clicked or resent form refunds once, and a refund
//! decided on a balance that has changed since is refused with "reload" rather than posted.

use super::account::{customer_in_scope, Account};
use super::reversal::{check_approver, Approval};
use super::COUNTER_ROLES;
use crate::access::Actor;
use crate::error::{AppError, AppResult};
use bureau_domain::calendar::beijing;
use bureau_domain::error::FieldError;
use bureau_domain::late_fee::LateFeeRules;
use bureau_domain::ledger::{
    check_refund, fold, parse_amount, AmountLimits, Channel, Entry, EntryId, EntryKind,
};
use bureau_store::{DynStore, Posted};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct RefundForm {
    pub account_no: String,
    /// In yuan.
    pub amount: String,
    pub reason: String,
    /// The ledger version shown when the refund was decided.
    pub version: i64,
    /// The approving supervisor's user name and password, entered at the counter.
    #[serde(default)]
    pub approver: String,
    #[serde(default)]
    pub approver_password: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct RefundResult {
    pub refund: Entry,
    pub account: Account,
}

pub async fn refund_credit(
    store: &DynStore,
    actor: &Actor,
    rules: &LateFeeRules,
    form: &RefundForm,
) -> AppResult<RefundResult> {
    actor.require_any(COUNTER_ROLES)?;
    let limits = AmountLimits::default();
    let mut errors = Vec::new();
    let amount = parse_amount("amount", &form.amount, &limits).map_err(|e| errors.push(e)).ok();
    let reason = bureau_domain::error::required("reason", &form.reason).map_err(|e| errors.push(e)).ok();
    let (Some(amount), Some(reason), true) = (amount, reason, errors.is_empty()) else {
        return Err(AppError::Invalid(errors));
    };
    let customer = customer_in_scope(store, actor, form.account_no.trim()).await?;
    let approver =
        check_approver(store, actor, &form.approver, &form.approver_password, Approval::Refund).await?;
    let account = customer.id.as_str().to_string();
    let ledger = store.ledger_of(&account).await?;
    let stale = || {
        AppError::Conflict(FieldError::new(
            "version",
            "stale",
            "账户已有新的记录，请刷新后重新确认退费",
            "the account has changed since it was shown; reload and confirm the refund again",
        ))
    };
    if ledger.version != form.version {
        return Err(stale());
    }
    check_refund(&fold(&ledger.entries), amount, &limits)?;
    let at = super::ledger_instant(jiff::Timestamp::now());
    let refund = Entry {
        id: EntryId(crate::outbox::new_id("refund-")),
        at,
        by: actor.staff_id.clone(),
        channel: Channel::Counter,
        reason: format!("退费：{reason}（审批：{approver}）"),
        kind: EntryKind::Refund { amount },
    };
    match store.post_entries(&account, ledger.version, std::slice::from_ref(&refund)).await? {
        Posted::Done { version } => {
            let mut entries = ledger.entries;
            entries.push(refund.clone());
            let account = Account::from_entries(customer, version, entries, rules, beijing::date_of(at));
            Ok(RefundResult { refund, account })
        }
        _ => Err(stale()),
    }
}
