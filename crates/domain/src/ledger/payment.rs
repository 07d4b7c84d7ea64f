//! Checks before money is posted: amounts, idempotency keys, refunds and reversals.
//!
//! Every check returns [`FieldError`]s that name the field and say what is wrong in Chinese and
//! English; a refused input changes nothing (the app posts only after the checks pass).

use super::{Entry, EntryId, EntryKind, LedgerState};
use crate::error::FieldError;
use crate::money::Fen;
use crate::register::AccountNo;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Bounds on one amount of money entered by a person or read from a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct AmountLimits {
    /// The largest amount accepted in one entry. The default, 100,000,000.00 yuan, is far above
    /// any monthly bill of a county bureau's largest customer yet catches a slipped digit of a
    /// bank file (e.g. an account number pasted into the amount column).
    pub max: Fen,
}

impl Default for AmountLimits {
    fn default() -> Self {
        AmountLimits { max: Fen(10_000_000_000) }
    }
}

/// Reads an amount of money in yuan (`"120"`, `"120.5"`, `"120.50"`) for a payment, charge,
/// refund or late fee: it must be positive, have at most two decimals and be at most
/// `limits.max`. Codes: `required`, `invalid` (not a number, or more than two decimals),
/// `negative`, `zero`, `too_large`.
pub fn parse_amount(field: &str, text: &str, limits: &AmountLimits) -> Result<Fen, FieldError> {
    let t = text.trim();
    // Decimal parsing accepts a few forms a person would not write for money; refuse them plainly.
    if t.starts_with('+') || t.contains(['e', 'E', '_', ',']) {
        return Err(FieldError::invalid(
            field,
            format!("金额格式不正确：{t}（应为如 120.50 的数字）"),
            format!("not a valid amount: {t} (write it like 120.50)"),
        ));
    }
    let fen = Fen::parse_yuan(field, t)?;
    if fen == Fen::ZERO && t.starts_with('-') {
        return Err(negative(field, fen));
    }
    check_amount(field, fen, limits)?;
    Ok(fen)
}

fn negative(field: &str, fen: Fen) -> FieldError {
    FieldError::new(
        field,
        "negative",
        format!("金额不能为负数：{fen}"),
        format!("the amount must not be negative: {fen}"),
    )
}

/// Checks an amount already in fen: positive and at most `limits.max`.
pub fn check_amount(field: &str, amount: Fen, limits: &AmountLimits) -> Result<(), FieldError> {
    if amount.is_negative() {
        return Err(negative(field, amount));
    }
    if amount == Fen::ZERO {
        return Err(FieldError::new(field, "zero", "金额不能为零", "the amount must not be zero"));
    }
    if amount > limits.max {
        return Err(FieldError::new(
            field,
            "too_large",
            format!("金额 {amount} 超过单笔上限 {}", limits.max),
            format!("the amount {amount} is above the limit of {} for one entry", limits.max),
        ));
    }
    Ok(())
}

/// The idempotency key of a payment: the same key posts once, however often it is submitted. A
/// counter or app client makes one per payment attempt (e.g. a UUID); a bank file line uses
/// `bank:<bank code>:<bank reference>`. 1 to 100 visible ASCII characters.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(field: &str, text: &str) -> Result<IdempotencyKey, FieldError> {
        let t = crate::error::required(field, text)?;
        if t.len() > 100 || !t.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(FieldError::invalid(
                field,
                "幂等键应为1至100个可见ASCII字符（不含空格）",
                "an idempotency key is 1 to 100 visible ASCII characters (no spaces)",
            ));
        }
        Ok(IdempotencyKey(t.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A payment already posted, as the store finds it by its idempotency key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PriorPayment {
    pub key: IdempotencyKey,
    pub entry: EntryId,
    pub account: AccountNo,
    pub amount: Fen,
}

/// A payment being submitted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PaymentRequest {
    pub key: IdempotencyKey,
    pub account: AccountNo,
    pub amount: Fen,
}

/// What to do with a submitted payment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Submission {
    /// No payment has this key: post it.
    New,
    /// The same payment was posted before as `entry`: post nothing and answer as the first time.
    Duplicate { entry: EntryId },
}

/// Decides whether `req` is new or a retry of a payment among `existing` (the payments with the
/// same key; normally none or one). The same key with a different account or amount is not a
/// retry but a mistake: a `conflict` error naming `account_no` or `amount`, and nothing is posted.
///
/// Two concurrent submissions can both see "new" here; the store's unique index on the key makes
/// one of them fail, and the app then answers it as a duplicate by calling this again.
pub fn classify_submission<'a>(
    existing: impl IntoIterator<Item = &'a PriorPayment>,
    req: &PaymentRequest,
) -> Result<Submission, FieldError> {
    let Some(prior) = existing.into_iter().find(|p| p.key == req.key) else {
        return Ok(Submission::New);
    };
    if prior.account != req.account {
        return Err(FieldError::new(
            "account_no",
            "conflict",
            format!(
                "幂等键 {} 已用于户号 {} 的缴费，不能再用于户号 {}",
                req.key,
                prior.account.as_str(),
                req.account.as_str()
            ),
            format!(
                "idempotency key {} was already used for a payment by account {}, not {}",
                req.key,
                prior.account.as_str(),
                req.account.as_str()
            ),
        ));
    }
    if prior.amount != req.amount {
        return Err(FieldError::new(
            "amount",
            "conflict",
            format!("幂等键 {} 已用于金额 {} 的缴费，本次金额为 {}", req.key, prior.amount, req.amount),
            format!(
                "idempotency key {} was already used for a payment of {}, this one is {}",
                req.key, prior.amount, req.amount
            ),
        ));
    }
    Ok(Submission::Duplicate { entry: prior.entry.clone() })
}

/// A refund (退费) pays back credit only: never more than the credit the ledger shows.
pub fn check_refund(state: &LedgerState, amount: Fen, limits: &AmountLimits) -> Result<(), FieldError> {
    check_amount("amount", amount, limits)?;
    let credit = state.credit();
    if amount > credit {
        return Err(FieldError::new(
            "amount",
            "exceeds_credit",
            format!("退费金额 {amount} 超过预存余额 {credit}"),
            format!("the refund {amount} is more than the credit of {credit}"),
        ));
    }
    Ok(())
}

/// A request to reverse (冲正) a mistaken entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReversalRequest {
    /// The entry to cancel.
    pub of: EntryId,
    /// Why: required, shown on the audit trail.
    pub reason: String,
    /// The staff member who asks for it.
    pub requested_by: String,
    /// The second staff member who approves it; must be someone else.
    pub approved_by: Option<String>,
}

impl ReversalRequest {
    /// The reversal entry to post once [`check_reversal`] passed.
    pub fn into_entry(self, id: EntryId, at: jiff::Timestamp, channel: super::Channel) -> Entry {
        Entry {
            id,
            at,
            by: self.requested_by,
            channel,
            reason: self.reason.trim().to_string(),
            kind: EntryKind::Reversal { of: self.of, approved_by: self.approved_by.unwrap_or_default() },
        }
    }
}

/// The four-eyes rule of a reversal (our control, in line with the segregation of duties every
/// cash office keeps): a reason; an approver who is a second, different person; the reversed entry
/// exists among `entries` (the customer's ledger), is not itself a reversal and was not reversed
/// already; a bill's charge is reversed only after its late fees and adjustments. Every failing
/// rule is reported.
pub fn check_reversal(entries: &[Entry], req: &ReversalRequest) -> Result<(), Vec<FieldError>> {
    let mut errors = Vec::new();
    let reason = req.reason.trim();
    if reason.is_empty() {
        errors.push(FieldError::new("reason", "required", "冲正必须填写原因", "a reversal needs a reason"));
    } else if reason.chars().count() > 500 {
        errors.push(FieldError::invalid("reason", "原因最多500字", "the reason is at most 500 characters"));
    }
    let requester = req.requested_by.trim();
    if requester.is_empty() {
        errors.push(FieldError::required("requested_by"));
    }
    match req.approved_by.as_deref().map(str::trim) {
        None | Some("") => errors.push(FieldError::new(
            "approved_by",
            "required",
            "冲正须由另一名工作人员审批",
            "a reversal must be approved by a second staff member",
        )),
        Some(a) if a == requester => errors.push(FieldError::new(
            "approved_by",
            "same_person",
            "审批人不能是申请人本人",
            "the approver must be a different person from the requester",
        )),
        Some(_) => {}
    }
    match entries.iter().find(|e| e.id == req.of) {
        None => errors.push(FieldError::new(
            "of",
            "unknown",
            format!("找不到要冲正的记录：{}", req.of),
            format!("no entry {} to reverse", req.of),
        )),
        Some(Entry { kind: EntryKind::Reversal { .. }, .. }) => errors.push(FieldError::invalid(
            "of",
            "冲正记录本身不能再冲正",
            "a reversal cannot itself be reversed",
        )),
        Some(target) => {
            if let EntryKind::Charge { bill, .. } = &target.kind {
                let reversed: Vec<&EntryId> = entries
                    .iter()
                    .filter_map(|e| match &e.kind {
                        EntryKind::Reversal { of, .. } => Some(of),
                        _ => None,
                    })
                    .collect();
                let dependent = entries.iter().any(|e| {
                    !reversed.contains(&&e.id)
                        && matches!(&e.kind,
                            EntryKind::LateFee { bill: b, .. } | EntryKind::Adjustment { bill: Some(b), .. } if b == bill)
                });
                if dependent {
                    errors.push(FieldError::new(
                        "of",
                        "dependent",
                        format!("账单 {bill} 还有违约金或退补记录，须先冲正这些记录"),
                        format!("bill {bill} still has late fees or adjustments: reverse them first"),
                    ));
                }
            }
            let already =
                entries.iter().any(|e| matches!(&e.kind, EntryKind::Reversal { of, .. } if of == &req.of));
            if already {
                errors.push(FieldError::new(
                    "of",
                    "duplicate",
                    format!("记录 {} 已冲正", req.of),
                    format!("entry {} is already reversed", req.of),
                ));
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}
