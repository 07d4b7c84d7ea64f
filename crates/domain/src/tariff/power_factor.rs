//! Power-factor adjustment (功率因数调整电费), 《功率因数调整电费办法》(水电财字〔1983〕215号).

use crate::error::FieldError;
use rust_decimal::Decimal;

/// The three standards of the 1983 rules: 0.90, 0.85 and 0.80.
pub const STANDARDS: [Decimal; 3] = [
    Decimal::from_parts(90, 0, 0, false, 2),
    Decimal::from_parts(85, 0, 0, false, 2),
    Decimal::from_parts(80, 0, 0, false, 2),
];

/// Checks that `value` is one of the three standards of the 1983 rules.
pub fn check_standard(field: &str, value: Decimal) -> Result<Decimal, FieldError> {
    STANDARDS.iter().copied().find(|s| *s == value).ok_or_else(|| {
        FieldError::invalid(
            field,
            format!("功率因数考核标准应为0.90、0.85或0.80：{value}"),
            format!("the power-factor standard is 0.90, 0.85 or 0.80: {value}"),
        )
    })
}
