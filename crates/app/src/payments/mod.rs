//! Payments and the customer ledger (客户电费账): the account a counter clerk sees, payments with
//! their late fees, reversals (冲正), refunds (退费) and the bank batch (代扣/代收).
//!
//! Every change of money is a ledger entry written through [`bureau_store::LedgerStore`]; balances,
//! open bills, credit and arrears are always derived by `bureau_domain::ledger::fold`. Use cases that
//! decide from the entries (a payment's late fee, a refund out of credit, a reversal) post at the
//! ledger version they read and read again when another posting came first, so two racing requests
//! never both pass a check; a payment's idempotency key is unique in the database itself.

mod account;
mod bank_batch;
mod charges;
mod post;
mod quote;
mod refund;
mod reversal;
mod settled_marks;

pub use account::{customer_account, load_account, Account, AccountBill};
pub use bank_batch::{
    bank_batch_result, bank_batches, post_bank_batch, BankBatchInput, BankBatchResult, BankBatchSummary,
    DEFAULT_CHUNK,
};
pub use charges::{charge_entry, charges_for, rebill_adjustment, reissue_adjustment};
pub use post::{
    payment_entries, payment_receipt, post_payment, take_payment, NewPayment, PaymentForm, PaymentResult,
};
pub use quote::{late_fee_quote, LateFeeTrial};
pub use refund::{refund_credit, RefundForm, RefundResult};
pub use reversal::{reverse_entry, ReversalForm, ReversalResult};
pub use settled_marks::{mark_settled_ledgers, next_mark, MarkSummary};

use bureau_domain::late_fee::LateFeeRules;
use bureau_domain::org::Role;

/// The late-fee parameters in force in this process: an operator's file put in force at start
/// ([`use_late_fee_rules`]; `bureau --late-fee-rules FILE`), else the built-in dated file
/// (data/late-fees/late-fees.toml).
pub fn late_fee_rules() -> &'static LateFeeRules {
    LATE_FEE_RULES.get().unwrap_or_else(|| LateFeeRules::builtin())
}

static LATE_FEE_RULES: std::sync::OnceLock<LateFeeRules> = std::sync::OnceLock::new();

/// Puts an operator's late-fee file (already loaded and checked by `LateFeeRules::load_file`) in
/// force for the rest of the process. Once, before serving: `false` when rules were put in force
/// already (the first stay).
pub fn use_late_fee_rules(rules: LateFeeRules) -> bool {
    LATE_FEE_RULES.set(rules).is_ok()
}

/// Roles that take money at the counter and see accounts.
pub const COUNTER_ROLES: &[Role] = &[Role::CounterClerk, Role::Manager];

/// An instant with the precision the ledger stores (microseconds), so that an entry read back
/// equals the entry posted.
pub fn ledger_instant(t: jiff::Timestamp) -> jiff::Timestamp {
    jiff::Timestamp::from_microsecond(t.as_microsecond()).unwrap_or(t)
}
