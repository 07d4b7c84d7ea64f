//! The distribution grid (配电网) as a pure model.
