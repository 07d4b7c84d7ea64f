//! The life of a bill (电费账单): draft → issued → partly paid / paid / overdue, and cancelled.
//!
//! - A bill run issues bills (出账); a draft is a bill computed for review that nobody owes yet.
//! - Payments move an issued bill to partly paid (部分缴费) and paid (结清); an issued or partly paid
//!   bill past its due date is overdue (逾期), from which the late fee runs (供电营业规则 (1996)
//!   Art. 98, see [`crate::late_fee`]).
//! - A wrong bill is never edited: it is cancelled (作废) and a new revision is issued for the same
//!   customer and period (退补, cancel-and-rebill), so that the history stays readable. A paid bill
//!   is corrected the same way; the money already paid stays with the customer's account.

use crate::error::FieldError;
use crate::money::Fen;
use serde::{Deserialize, Serialize};

crate::org::coded_enum!(
    /// The state of a bill.
    BillState, "state" {
        Draft = "draft", "草稿", "Draft";
        Issued = "issued", "已出账", "Issued";
        PartlyPaid = "partly_paid", "部分缴费", "Partly paid";
        Paid = "paid", "已结清", "Paid";
        Overdue = "overdue", "已逾期", "Overdue";
        Cancelled = "cancelled", "已作废", "Cancelled";
    }
);

impl BillState {
    /// Whether a bill may move from this state to `to`.
    pub fn may_become(self, to: BillState) -> bool {
        use BillState::*;
        matches!(
            (self, to),
            (Draft, Issued)
                | (Draft, Cancelled)
                | (Issued, PartlyPaid)
                | (Issued, Paid)
                | (Issued, Overdue)
                | (Issued, Cancelled)
                | (PartlyPaid, Paid)
                | (PartlyPaid, Overdue)
                | (PartlyPaid, Cancelled)
                | (Overdue, PartlyPaid)
                | (Overdue, Paid)
                | (Overdue, Cancelled)
                | (Paid, Cancelled)
        )
    }

    /// The transition, or an error naming both states.
    pub fn to(self, to: BillState) -> Result<BillState, FieldError> {
        if self.may_become(to) {
            Ok(to)
        } else {
            Err(FieldError::new(
                "state",
                "transition",
                format!("账单不能由“{}”变为“{}”", self.name_zh(), to.name_zh()),
                format!("a bill cannot go from {} to {}", self.code(), to.code()),
            ))
        }
    }

    /// Whether the customer owes this bill (it counts in arrears).
    pub fn is_owed(self) -> bool {
        matches!(self, BillState::Issued | BillState::PartlyPaid | BillState::Overdue)
    }

    /// The state after `paid` of `total` has been received on a bill in this state.
    pub fn after_payment(self, total: Fen, paid: Fen) -> Result<BillState, FieldError> {
        let next = if paid.0 >= total.0 { BillState::Paid } else { BillState::PartlyPaid };
        if self == BillState::Overdue && next == BillState::PartlyPaid {
            return Ok(BillState::Overdue);
        }
        self.to(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transitions() {
        use BillState::*;
        assert!(Issued.may_become(Paid));
        assert!(Paid.may_become(Cancelled));
        assert!(!Cancelled.may_become(Issued));
        assert!(!Paid.may_become(Issued));
        assert!(!Draft.may_become(Paid));
        assert_eq!(Cancelled.to(Paid).unwrap_err().field, "state");
        assert_eq!(Issued.after_payment(Fen(1000), Fen(400)).unwrap(), PartlyPaid);
        assert_eq!(PartlyPaid.after_payment(Fen(1000), Fen(1000)).unwrap(), Paid);
        assert_eq!(Overdue.after_payment(Fen(1000), Fen(10)).unwrap(), Overdue);
        assert!(Cancelled.after_payment(Fen(1000), Fen(1000)).is_err());
        assert!(Issued.is_owed() && !Paid.is_owed() && !Cancelled.is_owed());
    }
}
