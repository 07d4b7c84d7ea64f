//! Which bureaus' data a request may see.

/// The bureaus whose records a caller may read or write. Staff see their own bureau unless granted a
/// wider scope (a city, a province); the system itself (CLI, demo generator) sees everything.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    All,
    Bureaus(Vec<String>),
}

impl Scope {
    pub fn allows(&self, bureau_id: &str) -> bool {
        match self {
            Scope::All => true,
            Scope::Bureaus(ids) => ids.iter().any(|b| b == bureau_id),
        }
    }
}
