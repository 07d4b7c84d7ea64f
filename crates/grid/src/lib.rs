//! The distribution grid (配电网) as a pure model.
//!
//! * [`model`]: nodes and branches, validation ([`Network::new`]).
//! * [`cim`]: IEC 61968-13 CIM (CDPSM) RDF/XML import and export.
//! * [`csvio`]: the CSV folder format (`nodes.csv`, `branches.csv`, `params.toml`).
//! * [`topology`]: energisation under the current switch states, paths, downstream sets, switching.
//! * [`relrad`]: analytical reliability prediction (RELRAD / FMEA).
//! * [`predict`]: grouping trouble calls into predicted outages at upstream devices.
//! * [`switching`]: isolation and ring-transfer plans for planned work.
//! * [`indices`]: reliability indices from recorded interruptions (IEEE 1366, DL/T 836).

pub mod cim;
pub mod csvio;
pub mod indices;
pub mod model;
pub mod predict;
pub mod relrad;
pub mod switching;
pub mod synth;
pub mod topology;

pub use model::{
    Branch, BranchKind, GridError, ModelError, ModelErrors, Network, Node, NodeKind, Params, Reason,
};
pub use topology::{Downstream, EnergisationChange, PathToSource};
