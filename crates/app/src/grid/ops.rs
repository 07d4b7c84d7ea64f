//! Operating the grid: the model of each bureau cached in memory (loaded from the store once,
//! updated on every switch operation, so that tracing never waits for the database), and switch
//! operations recorded with who and when.

use super::{load, OPERATORS, READERS};
use crate::access::Actor;
use crate::error::{AppError, AppResult};
use bureau_domain::error::FieldError;
use bureau_grid::predict::PredictionRules;
use bureau_grid::{Network, NodeKind};
use bureau_store::{DynStore, Scope, SwitchOp};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::Mutex;

/// A live model and the store's model version it was loaded at.
type Versioned = (i64, Arc<Mutex<Network>>);

/// The live model of each bureau, and the prediction rules in force.
///
/// Each model is held with the store's model version it was loaded at
/// (`GridDataStore::grid_model_version`, moved on by every import that writes); every use compares
/// the two (one small indexed read) and reloads after an import, so that `bureau grid import` on a
/// running server needs no restart. Switch operations change the held model directly and are
/// recorded in the store, so a reload keeps them.
pub struct GridCache {
    nets: Mutex<HashMap<String, Versioned>>,
    pub rules: PredictionRules,
}

impl Default for GridCache {
    fn default() -> Self {
        GridCache::new(default_rules())
    }
}

/// The prediction rules shipped with the program (`data/grid/prediction-rules.toml`), or the file
/// named by `BUREAU_PREDICTION_RULES` (an operator's own rule set, e.g. a storm set).
pub fn default_rules() -> PredictionRules {
    if let Ok(path) = std::env::var("BUREAU_PREDICTION_RULES") {
        match std::fs::read_to_string(&path)
            .map_err(|e| e.to_string())
            .and_then(|t| PredictionRules::from_toml(&t).map_err(|e| e.to_string()))
        {
            Ok(r) => return r,
            Err(e) => tracing::error!(path, error = %e, "prediction rules not read; using the shipped ones"),
        }
    }
    PredictionRules::from_toml(include_str!("../../../../data/grid/prediction-rules.toml"))
        .expect("shipped prediction rules are valid")
}

impl GridCache {
    pub fn new(rules: PredictionRules) -> GridCache {
        GridCache { nets: Mutex::default(), rules }
    }

    /// The live network of a bureau, loaded on first use and again after a model import.
    pub async fn network(&self, store: &DynStore, bureau_id: &str) -> AppResult<Arc<Mutex<Network>>> {
        let version = store.grid_model_version(bureau_id).await?;
        let mut nets = self.nets.lock().await;
        if let Some((v, n)) = nets.get(bureau_id) {
            if *v == version {
                return Ok(n.clone());
            }
            tracing::info!(bureau = bureau_id, from = v, to = version, "grid model imported: reloading");
        }
        // Read before the model: an import landing in between only causes one more reload.
        let net = load(store, &Scope::Bureaus(vec![bureau_id.to_string()])).await?;
        let net = Arc::new(Mutex::new(net));
        nets.insert(bureau_id.to_string(), (version, net.clone()));
        Ok(net)
    }

    /// Drops a bureau's cached model (after an import), so that the next use reloads it.
    pub async fn forget(&self, bureau_id: &str) {
        self.nets.lock().await.remove(bureau_id);
    }
}

/// A new application-generated id: a prefix, the time and random bits.
pub fn new_id(prefix: &str, now: i64) -> String {
    let mut b = [0u8; 5];
    getrandom::getrandom(&mut b).expect("operating system random source");
    format!("{prefix}{now}-{}", b.iter().map(|x| format!("{x:02x}")).collect::<String>())
}

pub fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

/// The bureau an actor works on: their own, which must be in scope.
pub fn bureau_of(actor: &Actor, given: Option<&str>) -> AppResult<String> {
    let b = given.map(str::to_string).filter(|b| !b.is_empty()).unwrap_or_else(|| actor.bureau_id.clone());
    if b.is_empty() {
        return Err(FieldError::required("bureau_id").into());
    }
    actor.require_bureau(&b)?;
    Ok(b)
}

/// What a switch operation did.
#[derive(Clone, Debug, Serialize)]
pub struct SwitchResult {
    pub op: SwitchOp,
    pub loads_lost: Vec<String>,
    pub loads_restored: Vec<String>,
    pub customers_lost: u64,
    pub customers_restored: u64,
}

/// Opens or closes a switching device: checks it, records the operation with who and when, and
/// traces the change.
#[allow(clippy::too_many_arguments)]
pub async fn operate(
    store: &DynStore,
    cache: &GridCache,
    actor: &Actor,
    bureau_id: &str,
    branch_id: &str,
    open: bool,
    reason: &str,
    ref_id: Option<&str>,
    at: i64,
) -> AppResult<SwitchResult> {
    actor.require_any(OPERATORS)?;
    actor.require_bureau(bureau_id)?;
    let net = cache.network(store, bureau_id).await?;
    let mut net = net.lock().await;
    let Some(b) = net.branch(branch_id) else {
        return Err(FieldError::new(
            "branch",
            "unknown",
            format!("设备“{branch_id}”不存在"),
            format!("no device '{branch_id}'"),
        )
        .into());
    };
    if !b.kind.is_switch() {
        return Err(FieldError::invalid(
            "branch",
            format!("“{branch_id}”是{}，不是开关设备", b.kind.name_zh()),
            format!("'{branch_id}' is a {}, not a switching device", b.kind.name_en().to_lowercase()),
        )
        .into());
    }
    if b.open == open {
        return Err(AppError::Conflict(FieldError::new(
            "open",
            "unchanged",
            format!("“{branch_id}”已经是{}状态", if open { "分闸" } else { "合闸" }),
            format!("'{branch_id}' is already {}", if open { "open" } else { "closed" }),
        )));
    }
    let op = SwitchOp {
        id: new_id("SW", at),
        bureau_id: bureau_id.into(),
        branch_id: branch_id.into(),
        open,
        at,
        by_staff: actor.staff_id.clone(),
        reason: reason.into(),
        ref_id: ref_id.map(str::to_string),
    };
    store.record_switch_op(&op).await?;
    let change = net
        .set_open(branch_id, open)
        .map_err(|e| AppError::Invalid(vec![FieldError::invalid("branch", e.to_string(), e.to_string())]))?;
    let ids = |v: &[usize]| v.iter().map(|&i| net.nodes()[i].id.clone()).collect::<Vec<_>>();
    Ok(SwitchResult {
        loads_lost: ids(&change.loads_lost),
        loads_restored: ids(&change.loads_restored),
        customers_lost: change.customers_lost,
        customers_restored: change.customers_restored,
        op,
    })
}

/// One node of the feeder tree as the dispatcher sees it.
#[derive(Clone, Debug, Serialize)]
pub struct TreeNode {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub depth: usize,
    /// The branch from the parent: its id, kind and current state.
    pub via: Option<String>,
    pub via_kind: Option<String>,
    pub via_open: bool,
    pub energised: bool,
    pub customers: u64,
}

/// The network as trees from each source in its normal configuration (normally-open ties left
/// out), each node with its current energisation and the current state of the device above it,
/// for the dispatcher's view. Nodes no source reaches in the normal state come last, at depth 0.
pub async fn feeder_tree(
    store: &DynStore,
    cache: &GridCache,
    actor: &Actor,
    bureau_id: &str,
) -> AppResult<Vec<TreeNode>> {
    actor.require_any(READERS)?;
    actor.require_bureau(bureau_id)?;
    let net = cache.network(store, bureau_id).await?;
    let net = net.lock().await;
    let n = net.nodes().len();
    let mut seen = vec![false; n];
    let mut out = Vec::with_capacity(n);
    let roots: Vec<usize> = (0..n)
        .filter(|&v| net.nodes()[v].kind == NodeKind::Source)
        .chain((0..n).filter(|&v| net.nodes()[v].kind != NodeKind::Source))
        .collect();
    for s in roots {
        let mut stack: Vec<(usize, usize, Option<usize>)> = vec![(s, 0, None)];
        while let Some((v, depth, via)) = stack.pop() {
            if seen[v] {
                continue;
            }
            seen[v] = true;
            let node = &net.nodes()[v];
            let vb = via.map(|b| &net.branches()[b]);
            out.push(TreeNode {
                id: node.id.clone(),
                name: node.name.clone(),
                kind: node.kind.code().into(),
                depth,
                via: vb.map(|b| b.id.clone()),
                via_kind: vb.map(|b| b.kind.code().into()),
                via_open: vb.is_some_and(|b| b.open),
                energised: net.energised_mask()[v],
                customers: node.customers as u64,
            });
            let mut next: Vec<(usize, usize, Option<usize>)> = net
                .neighbours(v)
                .iter()
                .filter(|&&(bi, w)| !seen[w] && !net.branches()[bi].normal_open)
                .map(|&(bi, w)| (w, depth + 1, Some(bi)))
                .collect();
            next.reverse();
            stack.extend(next);
        }
    }
    Ok(out)
}
