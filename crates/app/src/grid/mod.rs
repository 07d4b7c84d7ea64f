//! The grid of a bureau: its model in the database, to and from the CSV folder and CIM RDF/XML.
//!
//! The pure `bureau-grid` crate does the work (validation, tracing, prediction, plans, indices); this
//! module moves rows between it and the store and checks who may do what.

use crate::access::Actor;
use crate::error::{AppError, AppResult};
use bureau_domain::error::FieldError;
use bureau_domain::org::Role;
use bureau_grid::{Branch, BranchKind, ModelError, ModelErrors, Network, Node, NodeKind, Params, Reason};
use bureau_store::{DynStore, GridBranch, GridNode, Scope, UpsertCounts};

pub mod ami;
pub mod intake;
pub mod limits;
pub mod notify;
pub mod ops;
pub mod outage;
pub mod plans;
pub mod stats;

/// Roles that may read the grid.
pub const READERS: &[Role] =
    &[Role::Dispatcher, Role::RepairCrew, Role::ProductionLeader, Role::Manager, Role::Agent];
/// Roles that may change the model and operate switches.
pub const OPERATORS: &[Role] = &[Role::Dispatcher];

/// Builds the pure network from stored rows (current switch states included).
pub fn to_network(
    nodes: &[GridNode],
    branches: &[GridBranch],
    params: Params,
) -> Result<Network, ModelErrors> {
    let mut errors = Vec::new();
    let mut bad = |file: &str, line: usize, id: &str, value: &str| {
        errors.push(ModelError {
            file: file.into(),
            line: Some(line as u64 + 1),
            id: id.into(),
            field: "kind".into(),
            reason: Reason::UnknownKind(value.into()),
        })
    };
    let ns: Vec<Node> = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| Node {
            id: n.id.clone(),
            kind: NodeKind::parse(&n.kind).unwrap_or_else(|| {
                bad("grid_nodes", i, &n.id, &n.kind);
                NodeKind::Bus
            }),
            name: n.name.clone(),
            customers: n.customers.clamp(0, u32::MAX as i64) as u32,
            avg_kw: n.avg_kw,
            peak_kw: n.peak_kw,
        })
        .collect();
    let bs: Vec<Branch> = branches
        .iter()
        .enumerate()
        .map(|(i, b)| Branch {
            id: b.id.clone(),
            from: b.from_node.clone(),
            to: b.to_node.clone(),
            kind: BranchKind::parse(&b.kind).unwrap_or_else(|| {
                bad("grid_branches", i, &b.id, &b.kind);
                BranchKind::Line
            }),
            normal_open: b.normal_open,
            open: b.is_open,
            length_km: b.length_km,
            failure_rate: b.failure_rate,
            repair_h: b.repair_h,
        })
        .collect();
    if !errors.is_empty() {
        return Err(ModelErrors(errors));
    }
    Network::new(ns, bs, params)
}

/// The rows of a network, for a bureau.
pub fn to_rows(net: &Network, bureau_id: &str) -> (Vec<GridNode>, Vec<GridBranch>) {
    let nodes = net
        .nodes()
        .iter()
        .map(|n| GridNode {
            id: n.id.clone(),
            bureau_id: bureau_id.into(),
            kind: n.kind.code().into(),
            name: n.name.clone(),
            customers: n.customers as i64,
            avg_kw: n.avg_kw,
            peak_kw: n.peak_kw,
        })
        .collect();
    let branches = net
        .branches()
        .iter()
        .map(|b| GridBranch {
            id: b.id.clone(),
            bureau_id: bureau_id.into(),
            from_node: b.from.clone(),
            to_node: b.to.clone(),
            kind: b.kind.code().into(),
            normal_open: b.normal_open,
            is_open: b.open,
            length_km: b.length_km,
            failure_rate: b.failure_rate,
            repair_h: b.repair_h,
        })
        .collect();
    (nodes, branches)
}

/// A stored model that does not validate: every problem, as field errors naming the element.
pub fn model_errors(e: &ModelErrors) -> AppError {
    AppError::Invalid(
        e.iter()
            .map(|m| {
                let field = if m.id.is_empty() { m.field.clone() } else { format!("{}.{}", m.id, m.field) };
                FieldError::invalid(&field, m.message_zh(), m.message_en())
            })
            .collect(),
    )
}

/// Loads the model of the bureaus in `scope` from the store, with the reliability parameters in
/// force today when the scope is one bureau (the defaults otherwise).
pub async fn load(store: &DynStore, scope: &Scope) -> AppResult<Network> {
    let nodes = store.grid_nodes(scope).await?;
    let branches = store.grid_branches(scope).await?;
    let params = match scope {
        Scope::Bureaus(b) if b.len() == 1 => {
            limits::params_on(&store.grid_params(&b[0]).await?, &limits::today())
        }
        _ => Params::default(),
    };
    to_network(&nodes, &branches, params).map_err(|e| model_errors(&e))
}

/// Writes a validated network as the model of `bureau_id`. Existing elements are updated (their
/// current switch state is kept: that belongs to operations), new ones added; nothing is deleted.
pub async fn save(
    store: &DynStore,
    actor: &Actor,
    bureau_id: &str,
    net: &Network,
) -> AppResult<UpsertCounts> {
    actor.require_any(OPERATORS)?;
    actor.require_bureau(bureau_id)?;
    let units = store.list_org_units().await?;
    if !units.iter().any(|u| u.id == bureau_id && u.level.is_bureau()) {
        return Err(FieldError::new(
            "bureau",
            "unknown",
            format!("供电单位“{bureau_id}”不存在"),
            format!("no bureau '{bureau_id}'"),
        )
        .into());
    }
    let (nodes, branches) = to_rows(net, bureau_id);
    Ok(store.upsert_grid(&nodes, &branches).await?)
}
