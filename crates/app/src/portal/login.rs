//! Customer logins: account number (户号) and password, or a one-time code sent to the registered
//! phone through the notification outbox.
//!
//! **How a customer gets a first password.** Two ways, both supported:
//! - a counter clerk sets (or resets) it for the customer in the staff console or the API
//!   ([`set_password_by_staff`]), after checking their identity at the counter; or
//! - the customer asks for a one-time code, which goes to the phone registered on the account (so
//!   only the phone's holder can use it), logs in with it and sets a password
//!   ([`set_own_password`]). A customer without a registered phone must go to the counter.
//!
//! Customer sessions are rows of the same `sessions` table as staff sessions, with subject kind
//! `customer`; the staff resolver refuses them and the customer resolver refuses staff ones, so a
//! token of one kind never opens a route of the other.
//!
//! Answers never reveal whether an account exists or has a password: a wrong account, a wrong
//! password and an account without a password get the same error, and a code request is answered
//! "sent" whether or not anything was sent.

use super::CustomerSession;
use crate::access::Actor;
use crate::auth::{hash_password, new_token, now_unix, token_hash, verify_password};
use crate::error::{AppError, AppResult};
use crate::outbox::{enqueue_at, Notification};
use bureau_domain::error::FieldError;
use bureau_domain::i18n::Lang;
use bureau_domain::org::Role;
use bureau_domain::register::AccountNo;
use bureau_store::{CodeCheck, DynStore, LoginCode, Scope, Session, StoreError, Subject};

/// A customer session lasts two hours: long enough to read and pay, short for a shared phone.
pub const CUSTOMER_SESSION_SECONDS: i64 = 2 * 3600;
/// A one-time code is good for five minutes.
pub const CODE_SECONDS: i64 = 5 * 60;
/// Wrong guesses before a code dies (counted in the database, so across processes).
pub const CODE_MAX_ATTEMPTS: i64 = 5;
/// The channel the code goes out on; the worker's webhook for `sms` delivers it.
pub const CODE_CHANNEL: &str = "sms";

fn wrong_credentials() -> AppError {
    AppError::Invalid(vec![FieldError::new(
        "password",
        "wrong_credentials",
        "户号或密码错误",
        "wrong account number or password",
    )])
}

fn wrong_code() -> AppError {
    AppError::Invalid(vec![FieldError::new(
        "code",
        "wrong_code",
        "验证码错误或已失效，请重新获取",
        "the code is wrong or no longer valid; please ask for a new one",
    )])
}

/// Checks the form of a new password: 8 to 128 characters, not all digits of the account.
pub fn check_new_password(account: &str, password: &str) -> Result<(), FieldError> {
    let n = password.chars().count();
    if password.is_empty() {
        return Err(FieldError::required("password"));
    }
    if !(8..=128).contains(&n) {
        return Err(FieldError::invalid(
            "password",
            "密码应为8至128个字符",
            "a password has 8 to 128 characters",
        ));
    }
    if password == account {
        return Err(FieldError::invalid(
            "password",
            "密码不能与户号相同",
            "the password must not be the account number",
        ));
    }
    Ok(())
}

fn parse_account(account: &str) -> AppResult<AccountNo> {
    Ok(AccountNo::parse("account", account.trim())?)
}

async fn open_session(store: &DynStore, customer_id: &str, lang: Lang) -> AppResult<String> {
    let token = new_token();
    let now = now_unix();
    store
        .create_session(&Session {
            token_hash: token_hash(&token),
            subject: Subject::Customer(customer_id.to_string()),
            lang: lang.code().to_string(),
            created_at: now,
            expires_at: now + CUSTOMER_SESSION_SECONDS,
        })
        .await?;
    Ok(token)
}

static DUMMY_HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// Account number and password; returns a session token.
pub async fn login_password(
    store: &DynStore,
    account: &str,
    password: &str,
    lang: Lang,
) -> AppResult<String> {
    let account = parse_account(account)?;
    if password.is_empty() {
        return Err(FieldError::required("password").into());
    }
    let hash = match store.customer_password(account.as_str()).await {
        Ok(h) => h,
        Err(StoreError::NotFound) => {
            // Spend the time of a real check, so that timing does not tell which accounts have one.
            let _ = verify_password(password, DUMMY_HASH.get_or_init(|| hash_password("not a password")));
            return Err(wrong_credentials());
        }
        Err(e) => return Err(e.into()),
    };
    if !verify_password(password, &hash) {
        return Err(wrong_credentials());
    }
    open_session(store, account.as_str(), lang).await
}

/// Sends a fresh six-digit code to the account's registered phone, replacing any earlier one.
/// Answers the same whether or not the account exists or has a phone.
pub async fn request_code(store: &DynStore, account: &str, lang: Lang) -> AppResult<()> {
    let account = parse_account(account)?;
    let customer = match store.get_customer(&Scope::All, account.as_str()).await {
        Ok(c) => c,
        Err(StoreError::NotFound) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    let Some(phone) = customer.phone.filter(|p| !p.trim().is_empty()) else { return Ok(()) };
    let code = new_code();
    let now = now_unix();
    store
        .put_login_code(&LoginCode {
            customer_id: customer.id.as_str().to_string(),
            code_hash: token_hash(&code),
            created_at: now,
            expires_at: now + CODE_SECONDS,
        })
        .await?;
    let minutes = CODE_SECONDS / 60;
    let (subject, body) = match lang {
        Lang::Zh => (
            "登录验证码".to_string(),
            format!("【供电局】您的网上营业厅登录验证码为{code}，{minutes}分钟内有效。请勿告诉他人。"),
        ),
        Lang::En => (
            "Login code".to_string(),
            format!("[Power supply bureau] Your portal login code is {code}, valid for {minutes} minutes. Do not share it."),
        ),
    };
    let key = format!("portal:{}:code:{now}:{}", customer.id.as_str(), &token_hash(&code)[..8]);
    let n = Notification::new(key, CODE_CHANNEL, phone, subject, body)
        .with_data(serde_json::json!({"purpose": "portal_login_code", "account": customer.id.as_str()}));
    // One attempt window of the code is enough: a code delivered after it expired is useless.
    let n = Notification { max_attempts: Some(3), ..n };
    enqueue_at(store, n, now).await?;
    Ok(())
}

fn new_code() -> String {
    let mut b = [0u8; 8];
    getrandom::getrandom(&mut b).expect("operating system random source");
    format!("{:06}", u64::from_le_bytes(b) % 1_000_000)
}

/// Account number and one-time code; returns a session token. The code is used up.
pub async fn login_code(store: &DynStore, account: &str, code: &str, lang: Lang) -> AppResult<String> {
    let account = parse_account(account)?;
    let code = code.trim();
    if code.is_empty() {
        return Err(FieldError::required("code").into());
    }
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(FieldError::invalid("code", "验证码为6位数字", "the code has 6 digits").into());
    }
    match store.check_login_code(account.as_str(), &token_hash(code), now_unix(), CODE_MAX_ATTEMPTS).await? {
        CodeCheck::Accepted => open_session(store, account.as_str(), lang).await,
        CodeCheck::Wrong | CodeCheck::NoCode => Err(wrong_code()),
    }
}

/// The customer behind a token (a staff token is refused), with the session's language.
pub async fn customer_for_token(store: &DynStore, token: &str) -> AppResult<CustomerSession> {
    let session = match store.get_session(&token_hash(token), now_unix()).await {
        Ok(s) => s,
        Err(StoreError::NotFound) => return Err(AppError::Unauthorized),
        Err(e) => return Err(e.into()),
    };
    let Subject::Customer(id) = &session.subject else { return Err(AppError::Unauthorized) };
    let customer = match store.get_customer(&Scope::All, id).await {
        Ok(c) => c,
        Err(StoreError::NotFound) => return Err(AppError::Unauthorized),
        Err(e) => return Err(e.into()),
    };
    Ok(CustomerSession {
        customer_id: customer.id.as_str().to_string(),
        bureau_id: customer.bureau_id.clone(),
        name: customer.name.clone(),
        supply_point: customer.supply_point.clone(),
        lang: Lang::parse(&session.lang).unwrap_or_default(),
    })
}

/// A counter clerk sets or resets a customer's portal password (the clerk checks identity first).
pub async fn set_password_by_staff(
    store: &DynStore,
    actor: &Actor,
    customer_id: &str,
    password: &str,
) -> AppResult<()> {
    actor.require_any(&[Role::CounterClerk])?;
    let account = AccountNo::parse("customer_id", customer_id)?;
    let customer = store
        .get_customer(&actor.scope, account.as_str())
        .await
        .map_err(|e| AppError::or_not_found(e, "customer", customer_id))?;
    check_new_password(account.as_str(), password)?;
    store
        .set_customer_password(customer.id.as_str(), &hash_password(password), now_unix(), &actor.staff_id)
        .await?;
    // A reset at the counter usually means the old password is lost or known to someone else:
    // every session opened with it ends (no token hash is empty, so none is kept).
    let subject = Subject::Customer(customer.id.as_str().to_string());
    store.delete_other_sessions(&subject, "").await?;
    Ok(())
}

/// A logged-in customer sets their own password. A session (from a password or from a code sent to
/// the registered phone) is the proof of identity. The customer's other sessions end (someone who
/// knew the old password is logged out on every device); the one `token` belongs to goes on.
/// Returns how many sessions ended.
pub async fn set_own_password(
    store: &DynStore,
    who: &CustomerSession,
    token: &str,
    password: &str,
) -> AppResult<u64> {
    check_new_password(&who.customer_id, password)?;
    store.set_customer_password(&who.customer_id, &hash_password(password), now_unix(), "customer").await?;
    let subject = Subject::Customer(who.customer_id.clone());
    Ok(store.delete_other_sessions(&subject, &token_hash(token)).await?)
}

/// Opens customer sessions for `count` customers spread evenly over the register, for load tests
/// of the bill query (`bureau portal bench-sessions`): an operator tool that needs the database
/// itself, never reachable over HTTP. Returns (account, token) pairs.
pub async fn bench_sessions(store: &DynStore, count: u32) -> AppResult<Vec<(String, String)>> {
    let total = store.count_customers(&Scope::All).await?;
    let step = (total / u64::from(count.max(1))).max(1);
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    let mut seen = 0u64;
    'pages: loop {
        let page = store.list_customers(&Scope::All, after.as_deref(), 5000).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.id.as_str().to_string());
        for c in &page {
            if seen.is_multiple_of(step) {
                let token = open_session(store, c.id.as_str(), Lang::Zh).await?;
                out.push((c.id.as_str().to_string(), token));
                if out.len() as u32 >= count {
                    break 'pages;
                }
            }
            seen += 1;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_have_six_digits() {
        for _ in 0..100 {
            let c = new_code();
            assert_eq!(c.len(), 6);
            assert!(c.bytes().all(|b| b.is_ascii_digit()));
        }
    }

    #[test]
    fn new_passwords_are_checked() {
        assert!(check_new_password("0101000001", "long enough").is_ok());
        assert_eq!(check_new_password("0101000001", "").unwrap_err().code, "required");
        assert_eq!(check_new_password("0101000001", "short").unwrap_err().field, "password");
        assert!(check_new_password("0101000001", "0101000001").is_err());
        assert!(check_new_password("x", &"a".repeat(129)).is_err());
    }
}
