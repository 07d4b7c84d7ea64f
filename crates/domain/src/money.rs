//! Money: integer fen (分) at rest, exact decimals for rates, one explicit rounding rule.
//!
//! A yuan has 100 fen. Amounts are stored and summed as whole fen so that sums are exact on every
//! database. Prices and rates are exact decimals (`rust_decimal`), and an amount computed from them is
//! rounded half-up to the fen exactly once, on the bill line that shows it, so that the lines of a
//! bill always add up to its total.

use crate::error::FieldError;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::iter::Sum;
use std::ops::{Add, AddAssign, Neg, Sub, SubAssign};

/// An amount of money in fen (1/100 yuan). Serialised as a decimal string of yuan, e.g. `"169.50"`,
/// so that no JavaScript client ever sees a float.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Fen(pub i64);

impl Fen {
    pub const ZERO: Fen = Fen(0);

    /// Rounds an exact yuan amount half-up (away from zero at .5) to the fen.
    pub fn round_half_up(yuan: Decimal) -> Fen {
        let fen =
            (yuan * Decimal::ONE_HUNDRED).round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero);
        Fen(fen.to_i64().expect("amount within i64 fen"))
    }

    /// The exact yuan value.
    pub fn yuan(self) -> Decimal {
        Decimal::new(self.0, 2)
    }

    /// Parses a user-entered yuan amount such as `12`, `12.5` or `12.50`; more than two decimal
    /// places is an error, never a silent rounding of money.
    pub fn parse_yuan(field: &str, text: &str) -> Result<Fen, FieldError> {
        let t = text.trim();
        if t.is_empty() {
            return Err(FieldError::required(field));
        }
        let d: Decimal = t.parse().map_err(|_| {
            FieldError::invalid(field, format!("金额格式不正确：{t}"), format!("not a valid amount: {t}"))
        })?;
        if d.scale() > 2 && d.normalize().scale() > 2 {
            return Err(FieldError::invalid(
                field,
                format!("金额最多两位小数：{t}"),
                format!("an amount has at most two decimal places: {t}"),
            ));
        }
        let fen = (d * Decimal::ONE_HUNDRED).to_i64().ok_or_else(|| {
            FieldError::invalid(field, format!("金额超出范围：{t}"), format!("amount out of range: {t}"))
        })?;
        Ok(Fen(fen))
    }

    pub fn is_negative(self) -> bool {
        self.0 < 0
    }
}

impl fmt::Display for Fen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

impl Serialize for Fen {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Fen {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Fen::parse_yuan("amount", &s).map_err(|e| serde::de::Error::custom(e.message.en))
    }
}

impl Add for Fen {
    type Output = Fen;
    fn add(self, rhs: Fen) -> Fen {
        Fen(self.0 + rhs.0)
    }
}
impl AddAssign for Fen {
    fn add_assign(&mut self, rhs: Fen) {
        self.0 += rhs.0;
    }
}
impl Sub for Fen {
    type Output = Fen;
    fn sub(self, rhs: Fen) -> Fen {
        Fen(self.0 - rhs.0)
    }
}
impl SubAssign for Fen {
    fn sub_assign(&mut self, rhs: Fen) {
        self.0 -= rhs.0;
    }
}
impl Neg for Fen {
    type Output = Fen;
    fn neg(self) -> Fen {
        Fen(-self.0)
    }
}
impl Sum for Fen {
    fn sum<I: Iterator<Item = Fen>>(iter: I) -> Fen {
        Fen(iter.map(|f| f.0).sum())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rust_decimal_macros::dec;

    #[test]
    fn rounds_half_up_to_the_fen() {
        assert_eq!(Fen::round_half_up(dec!(86.7)), Fen(8670));
        assert_eq!(Fen::round_half_up(dec!(0.005)), Fen(1));
        assert_eq!(Fen::round_half_up(dec!(0.0049)), Fen(0));
        assert_eq!(Fen::round_half_up(dec!(-0.005)), Fen(-1));
        assert_eq!(Fen::round_half_up(dec!(1.125)), Fen(113));
    }

    #[test]
    fn displays_as_yuan_with_two_decimals() {
        assert_eq!(Fen(16950).to_string(), "169.50");
        assert_eq!(Fen(5).to_string(), "0.05");
        assert_eq!(Fen(-150).to_string(), "-1.50");
        assert_eq!(Fen(0).to_string(), "0.00");
    }

    #[test]
    fn parses_amounts_and_rejects_bad_ones() {
        assert_eq!(Fen::parse_yuan("amount", "12").unwrap(), Fen(1200));
        assert_eq!(Fen::parse_yuan("amount", " 12.5 ").unwrap(), Fen(1250));
        assert_eq!(Fen::parse_yuan("amount", "12.50").unwrap(), Fen(1250));
        assert_eq!(Fen::parse_yuan("amount", "12.500").unwrap(), Fen(1250));
        let e = Fen::parse_yuan("amount", "12.345").unwrap_err();
        assert_eq!(e.field, "amount");
        assert!(Fen::parse_yuan("paid", "abc").unwrap_err().message.zh.contains("金额"));
        assert_eq!(Fen::parse_yuan("paid", "").unwrap_err().code, "required");
    }

    proptest! {
        #[test]
        fn display_then_parse_is_identity(f in -10_000_000_000i64..10_000_000_000i64) {
            prop_assert_eq!(Fen::parse_yuan("x", &Fen(f).to_string()).unwrap(), Fen(f));
        }
    }
}
