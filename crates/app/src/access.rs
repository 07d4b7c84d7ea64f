//! Who is acting, what roles they hold, and which bureaus' data they may see.

use crate::error::{AppError, AppResult};
use bureau_domain::org::Role;
use bureau_store::{OrgUnit, Scope, Staff};
use std::collections::HashMap;

/// The member of staff (or the system itself) on whose behalf a use case runs.
#[derive(Clone, Debug)]
pub struct Actor {
    pub staff_id: String,
    pub name: String,
    pub roles: Vec<Role>,
    pub bureau_id: String,
    pub scope: Scope,
}

impl Actor {
    /// The program itself (CLI, generators): every role, every bureau.
    pub fn system() -> Actor {
        Actor {
            staff_id: "system".into(),
            name: "system".into(),
            roles: Role::ALL.to_vec(),
            bureau_id: String::new(),
            scope: Scope::All,
        }
    }

    pub fn for_staff(staff: &Staff, units: &[OrgUnit]) -> Actor {
        Actor {
            staff_id: staff.id.clone(),
            name: staff.name.clone(),
            roles: staff.roles.clone(),
            bureau_id: staff.bureau_id.clone(),
            scope: Scope::Bureaus(bureaus_under(&staff.scope_unit_id, units)),
        }
    }

    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// Passes when the actor holds any of `roles` (administrators pass every check).
    pub fn require_any(&self, roles: &[Role]) -> AppResult<()> {
        if self.has(Role::Admin) || roles.iter().any(|r| self.has(*r)) {
            Ok(())
        } else {
            Err(AppError::Forbidden)
        }
    }

    pub fn require_bureau(&self, bureau_id: &str) -> AppResult<()> {
        if self.scope.allows(bureau_id) {
            Ok(())
        } else {
            Err(AppError::Forbidden)
        }
    }
}

/// The bureaus (city and county units) in the subtree rooted at `root`, the root included.
pub fn bureaus_under(root: &str, units: &[OrgUnit]) -> Vec<String> {
    let mut children: HashMap<&str, Vec<&OrgUnit>> = HashMap::new();
    for u in units {
        if let Some(p) = &u.parent_id {
            children.entry(p.as_str()).or_default().push(u);
        }
    }
    let mut out = Vec::new();
    let mut stack: Vec<&OrgUnit> = units.iter().filter(|u| u.id == root).collect();
    while let Some(u) = stack.pop() {
        if u.level.is_bureau() {
            out.push(u.id.clone());
        }
        if let Some(kids) = children.get(u.id.as_str()) {
            stack.extend(kids.iter().copied());
        }
    }
    out.sort();
    out
}

/// The bureau a unit belongs to: itself if it is one, else its nearest bureau ancestor.
pub fn bureau_of(unit_id: &str, units: &[OrgUnit]) -> Option<String> {
    let by_id: HashMap<&str, &OrgUnit> = units.iter().map(|u| (u.id.as_str(), u)).collect();
    let mut cur = by_id.get(unit_id).copied();
    while let Some(u) = cur {
        if u.level.is_bureau() {
            return Some(u.id.clone());
        }
        cur = u.parent_id.as_deref().and_then(|p| by_id.get(p).copied());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use bureau_domain::org::OrgLevel;

    fn u(id: &str, parent: Option<&str>, level: OrgLevel) -> OrgUnit {
        OrgUnit {
            id: id.into(),
            parent_id: parent.map(Into::into),
            level,
            name_zh: id.into(),
            name_en: id.into(),
        }
    }

    #[test]
    fn scope_covers_the_bureaus_of_a_subtree() {
        let units = vec![
            u("P", None, OrgLevel::Province),
            u("C", Some("P"), OrgLevel::City),
            u("A", Some("C"), OrgLevel::County),
            u("B", Some("C"), OrgLevel::County),
            u("A-YY", Some("A"), OrgLevel::Department),
        ];
        assert_eq!(bureaus_under("P", &units), vec!["A", "B", "C"]);
        assert_eq!(bureaus_under("A", &units), vec!["A"]);
        assert_eq!(bureaus_under("A-YY", &units), Vec::<String>::new());
        assert_eq!(bureau_of("A-YY", &units).as_deref(), Some("A"));
        assert_eq!(bureau_of("P", &units), None);
    }
}
