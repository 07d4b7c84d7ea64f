//! The plain-text bill query for SMS and IVR gateways (短信/语音自动查询): account number in, one
//! short line with the latest bill out.
//!
//! **Protection.** Two checks, both needed:
//! 1. the gateway presents a token issued to it by the bureau ([`create_gateway`]; only its
//!    SHA-256 is stored), which also fixes the one bureau it may ask about;
//! 2. the caller's phone number (the SMS sender or the IVR caller id, which the gateway takes from
//!    the network) must be the phone registered on the account.
//!
//! So a leaked gateway token alone reveals nothing without also calling from the customer's phone,
//! and a customer's phone alone cannot query without going through the bureau's gateway. An unknown
//! account and a phone that does not match get the same answer, so the query cannot be used to
//! find out which accounts exist.

use super::CustomerSession;
use crate::access::Actor;
use crate::auth::{new_token, now_unix, token_hash};
use crate::error::{AppError, AppResult};
use bureau_domain::error::FieldError;
use bureau_domain::i18n::Lang;
use bureau_domain::money::Fen;
use bureau_domain::org::Role;
use bureau_domain::register::AccountNo;
use bureau_store::{DynStore, QueryGateway, Scope, StoreError, StoredBill};

/// Registers a gateway for a bureau and returns it with its token (shown once).
pub async fn create_gateway(
    store: &DynStore,
    actor: &Actor,
    bureau_id: &str,
    name: &str,
) -> AppResult<(QueryGateway, String)> {
    actor.require_any(&[Role::Admin])?;
    actor.require_bureau(bureau_id)?;
    let name = bureau_domain::register::parse_text("name", name, 100)?;
    if !store.list_org_units().await?.iter().any(|u| u.id == bureau_id && u.level.is_bureau()) {
        return Err(FieldError::new(
            "bureau_id",
            "unknown",
            format!("没有这个供电局：{bureau_id}"),
            format!("no such bureau: {bureau_id}"),
        )
        .into());
    }
    let token = new_token();
    let g = QueryGateway {
        id: crate::outbox::new_id("G"),
        bureau_id: bureau_id.to_string(),
        name,
        token_hash: token_hash(&token),
        created_at: now_unix(),
        created_by: actor.staff_id.clone(),
        active: true,
    };
    store.save_gateway(&g).await?;
    Ok((g, token))
}

/// The gateway presenting `token`, or unauthorized.
pub async fn gateway_for_token(store: &DynStore, token: &str) -> AppResult<QueryGateway> {
    match store.gateway_by_token(&token_hash(token)).await {
        Ok(g) => Ok(g),
        Err(StoreError::NotFound) => Err(AppError::Unauthorized),
        Err(e) => Err(e.into()),
    }
}

/// The last 11 digits of a phone number (a mainland mobile number without +86 or 0086).
pub fn phone_key(phone: &str) -> String {
    let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
    digits[digits.len().saturating_sub(11)..].to_string()
}

/// The query's answer for `account` asked from `phone` through `gateway`.
pub async fn bill_text(
    store: &DynStore,
    gateway: &QueryGateway,
    account: &str,
    phone: &str,
    lang: Lang,
) -> AppResult<String> {
    let account = AccountNo::parse("account", account.trim())?;
    if phone.trim().is_empty() {
        return Err(FieldError::required("phone").into());
    }
    let no_match = || AppError::not_found("account", account.as_str());
    let scope = Scope::Bureaus(vec![gateway.bureau_id.clone()]);
    let customer = match store.get_customer(&scope, account.as_str()).await {
        Ok(c) => c,
        Err(StoreError::NotFound) => return Err(no_match()),
        Err(e) => return Err(e.into()),
    };
    let registered = customer.phone.as_deref().map(phone_key).unwrap_or_default();
    if registered.len() < 7 || registered != phone_key(phone) {
        return Err(no_match());
    }
    let who = CustomerSession {
        customer_id: customer.id.as_str().to_string(),
        bureau_id: customer.bureau_id.clone(),
        name: customer.name.clone(),
        supply_point: customer.supply_point.clone(),
        lang,
    };
    let q = store.bill_query(&who.customer_id).await?;
    Ok(render(&who, q.latest.as_ref(), q.balance, lang))
}

/// The name as an SMS may show it: the first character, the rest masked (张**).
pub fn masked_name(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => std::iter::once(first).chain(chars.map(|_| '*')).collect(),
        None => String::new(),
    }
}

/// The balance in words: owed (应缴), in credit (预存余额) or settled.
pub fn balance_words(balance: Fen, lang: Lang) -> String {
    match (balance.0.signum(), lang) {
        (1, Lang::Zh) => format!("账户应缴{balance}元"),
        (-1, Lang::Zh) => format!("预存余额{}元", Fen(-balance.0)),
        (_, Lang::Zh) => "无欠费".to_string(),
        (1, Lang::En) => format!("{balance} yuan owed"),
        (-1, Lang::En) => format!("{} yuan in credit", Fen(-balance.0)),
        (_, Lang::En) => "nothing owed".to_string(),
    }
}

/// One line, Chinese or English: the latest bill and the ledger balance.
pub fn render(who: &CustomerSession, latest: Option<&StoredBill>, balance: Fen, lang: Lang) -> String {
    let name = masked_name(&who.name);
    let acct = &who.customer_id;
    let bal = balance_words(balance, lang);
    match (latest, lang) {
        (None, Lang::Zh) => format!("户号{acct}（{name}）：暂无电费账单；{bal}。"),
        (None, Lang::En) => format!("Account {acct} ({name}): no bills yet; {bal}."),
        (Some(b), Lang::Zh) => {
            let (y, m) = b.period.split_once('-').unwrap_or((&b.period, ""));
            let due = b.due_on.as_deref().map(|d| format!("，缴费截止{d}")).unwrap_or_default();
            format!(
                "户号{acct}（{name}）：{y}年{}月电费{}元，用电{}度{due}；{bal}。",
                m.trim_start_matches('0'),
                b.total,
                b.kwh.normalize(),
            )
        }
        (Some(b), Lang::En) => {
            let due = b.due_on.as_deref().map(|d| format!(", due {d}")).unwrap_or_default();
            format!(
                "Account {acct} ({name}): bill for {} is {} yuan for {} kWh{due}; {bal}.",
                b.period,
                b.total,
                b.kwh.normalize(),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_compare_by_their_last_eleven_digits() {
        assert_eq!(phone_key("+86 138-0000-1234"), "13800001234");
        assert_eq!(phone_key("008613800001234"), "13800001234");
        assert_eq!(phone_key("0451-8888777"), "04518888777");
        assert_eq!(phone_key(""), "");
    }

    #[test]
    fn the_answer_reads_as_an_sms() {
        let who = CustomerSession {
            customer_id: "0101000001".into(),
            bureau_id: "B".into(),
            name: "张三".into(),
            supply_point: None,
            lang: Lang::Zh,
        };
        assert_eq!(render(&who, None, Fen(0), Lang::Zh), "户号0101000001（张*）：暂无电费账单；无欠费。");
        assert_eq!(
            render(&who, None, Fen(-1050), Lang::En),
            "Account 0101000001 (张*): no bills yet; 10.50 yuan in credit."
        );
        assert_eq!(balance_words(Fen(16950), Lang::Zh), "账户应缴169.50元");
    }

    #[test]
    fn names_are_masked() {
        assert_eq!(masked_name("张三丰"), "张**");
        assert_eq!(masked_name("Li"), "L*");
        assert_eq!(masked_name(""), "");
    }
}
