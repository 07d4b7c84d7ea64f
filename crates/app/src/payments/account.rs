//! A customer's account as the counter sees it: open bills with the late fee to date, credit,
//! arrears and balance, all folded from the ledger entries.

use super::COUNTER_ROLES;
use crate::access::Actor;
use crate::error::{AppError, AppResult};
use bureau_domain::calendar::beijing;
use bureau_domain::late_fee::{LateFeeClass, LateFeeRules};
use bureau_domain::ledger::{fold, BillId, Entry, LedgerState};
use bureau_domain::money::Fen;
use bureau_domain::register::Customer;
use bureau_domain::tariff::BillPeriod;
use bureau_store::DynStore;
use jiff::civil::Date;
use serde::Serialize;

/// One bill of the account, with its late fee counted to the day asked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AccountBill {
    pub bill: BillId,
    pub period: BillPeriod,
    pub due: Date,
    /// The charge with its adjustments (应收电费).
    pub charged: Fen,
    /// Late fees already posted.
    pub late_fees: Fen,
    pub paid: Fen,
    /// Still unpaid of what is posted (charge and posted late fees).
    pub open: Fen,
    /// Days past the due date on the day asked (0 when not overdue or settled).
    pub days_overdue: i64,
    /// The late fee accrued to the day asked and not yet posted (违约金, 供电营业规则 Art. 98): it
    /// is posted with the payment that reaches the bill.
    pub late_fee_to_date: Fen,
    /// `open + late_fee_to_date`: what clears the bill on the day asked.
    pub to_clear: Fen,
}

/// A customer's account on a day.
#[derive(Clone, Debug, Serialize)]
pub struct Account {
    pub customer: Customer,
    pub late_fee_class: LateFeeClass,
    /// The day the late fees are counted to (Beijing date).
    pub on: Date,
    /// The ledger version the entries were read at.
    pub version: i64,
    /// Open bills, oldest first (settlement order).
    pub open_bills: Vec<AccountBill>,
    /// Unpaid on bills past their due date (欠费).
    pub arrears: Fen,
    /// Prepaid or overpaid money not yet used (预存余额).
    pub credit: Fen,
    /// Positive when owed, negative when in credit (posted entries only).
    pub balance: Fen,
    /// Late fees accrued to `on` and not yet posted, over all open bills.
    pub late_fee_to_date: Fen,
    /// What settles everything on `on`: the balance plus the late fee to date (never below zero).
    pub to_clear: Fen,
    /// Every entry, in posting order.
    pub entries: Vec<Entry>,
    #[serde(skip)]
    pub state: LedgerState,
}

impl Account {
    /// Builds the account from the ledger's entries (pure).
    pub fn from_entries(
        customer: Customer,
        version: i64,
        entries: Vec<Entry>,
        rules: &LateFeeRules,
        on: Date,
    ) -> Account {
        let class = LateFeeClass::from(customer.class);
        let state = fold(&entries);
        let open_bills: Vec<AccountBill> = state
            .open_bills()
            .map(|b| {
                let overdue = b.is_overdue(on);
                let late_fee_to_date = if overdue { b.late_fee_to_post(rules, class, on) } else { Fen::ZERO };
                AccountBill {
                    bill: b.bill.clone(),
                    period: b.period,
                    due: b.due,
                    charged: b.charged,
                    late_fees: b.late_fees,
                    paid: b.paid_charge + b.paid_late_fee,
                    open: b.open(),
                    days_overdue: if overdue { (on - b.due).get_days().into() } else { 0 },
                    late_fee_to_date,
                    to_clear: b.open() + late_fee_to_date,
                }
            })
            .collect();
        let late_fee_to_date = open_bills.iter().map(|b| b.late_fee_to_date).sum::<Fen>();
        Account {
            late_fee_class: class,
            on,
            version,
            arrears: state.arrears_on(on),
            credit: state.credit(),
            balance: state.balance(),
            late_fee_to_date,
            to_clear: (state.balance() + late_fee_to_date).max(Fen::ZERO),
            open_bills,
            entries,
            customer,
            state,
        }
    }
}

/// The customer in the actor's scope, or a not-found error naming the account.
pub(crate) async fn customer_in_scope(
    store: &DynStore,
    actor: &Actor,
    customer_id: &str,
) -> AppResult<Customer> {
    let c = store
        .get_customer(&actor.scope, customer_id)
        .await
        .map_err(|e| AppError::or_not_found(e, "customer", customer_id))?;
    actor.require_bureau(&c.bureau_id)?;
    Ok(c)
}

/// Reads and folds a customer's ledger (no role check: for use cases that checked already).
pub async fn load_account(
    store: &DynStore,
    customer: Customer,
    rules: &LateFeeRules,
    on: Date,
) -> AppResult<Account> {
    let ledger = store.ledger_of(customer.id.as_str()).await?;
    Ok(Account::from_entries(customer, ledger.version, ledger.entries, rules, on))
}

/// A customer's account (`customer_account(scope, id)`): open bills with the late fee to `on`
/// (today in Beijing when `None`), credit, arrears and balance.
pub async fn customer_account(
    store: &DynStore,
    actor: &Actor,
    rules: &LateFeeRules,
    customer_id: &str,
    on: Option<Date>,
) -> AppResult<Account> {
    actor.require_any(COUNTER_ROLES)?;
    let customer = customer_in_scope(store, actor, customer_id).await?;
    let on = on.unwrap_or_else(|| beijing::date_of(jiff::Timestamp::now()));
    load_account(store, customer, rules, on).await
}
