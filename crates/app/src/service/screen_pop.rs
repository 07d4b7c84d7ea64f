//! The screen pop (来电弹屏): the phone system posts the number of a call ringing at an agent, and
//! the agent's intake screen shows it with the lookup for that number. The call is kept in the
//! database, not in the server's memory, so that it survives a restart and every server process
//! (several behind one address) shows the agent the same call.

use super::{lookup, CallerLookup};
use crate::access::Actor;
use crate::error::AppResult;
use bureau_domain::error::FieldError;
use bureau_domain::org::Role;
use bureau_store::{DynStore, IncomingCall, StoreError};

/// Records a call ringing at `agent` (default: the poster) at `now`, and answers the lookup for
/// the number. The poster is the phone system's login (an agent, dispatcher or manager); the agent
/// must be a member of staff in the poster's bureaus.
pub async fn incoming(
    store: &DynStore,
    actor: &Actor,
    phone: &str,
    agent: Option<&str>,
    now: i64,
) -> AppResult<CallerLookup> {
    actor.require_any(&[Role::Agent, Role::Dispatcher, Role::Manager])?;
    let phone = phone.trim();
    if phone.is_empty()
        || phone.len() > 30
        || !phone.chars().all(|ch| ch.is_ascii_digit() || ch == '-' || ch == '+')
    {
        return Err(FieldError::invalid(
            "phone",
            "来电号码无效",
            "the caller's number is not a phone number",
        )
        .into());
    }
    let agent = agent.map(str::trim).filter(|a| !a.is_empty()).unwrap_or(&actor.staff_id);
    match store.get_staff(agent).await {
        Ok(s) => actor.require_bureau(&s.bureau_id)?,
        Err(StoreError::NotFound) => {
            return Err(FieldError::new(
                "agent",
                "not_found",
                format!("坐席 {agent} 不存在"),
                format!("no staff member {agent} for the call to ring at"),
            )
            .into())
        }
        Err(e) => return Err(e.into()),
    }
    let found = lookup(store, actor, phone).await?;
    store
        .record_call(&IncomingCall {
            agent_id: agent.to_string(),
            phone: phone.to_string(),
            at: now,
            posted_by: actor.staff_id.clone(),
        })
        .await?;
    Ok(found)
}

/// The latest call that rang at the actor (the intake screen shows and polls it): their own
/// calls only, so any member of staff may ask.
pub async fn latest(store: &DynStore, actor: &Actor) -> AppResult<Option<IncomingCall>> {
    Ok(store.latest_call(&actor.staff_id).await?)
}
