//! Passwords and session tokens.
//!
//! Passwords are stored as Argon2id PHC strings (the OWASP-recommended default parameters of the
//! `argon2` crate). A session token is 32 random bytes given to the browser once; the database keeps
//! only its SHA-256, so a copy of the database cannot be replayed as a login.

use crate::access::Actor;
use crate::error::{AppError, AppResult};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use base64::Engine;
use bureau_domain::error::FieldError;
use bureau_store::{DynStore, Session, StoreError, Subject};
use sha2::{Digest, Sha256};

/// How long a login lasts: one working shift and then some.
pub const SESSION_SECONDS: i64 = 12 * 3600;

pub fn hash_password(password: &str) -> String {
    let mut salt = [0u8; 16];
    getrandom::getrandom(&mut salt).expect("operating system random source");
    let salt = SaltString::encode_b64(&salt).expect("16 bytes is a valid salt");
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 with default parameters")
        .to_string()
}

pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

/// A new random token (URL-safe, 43 characters).
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    getrandom::getrandom(&mut bytes).expect("operating system random source");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

pub fn token_hash(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn now_unix() -> i64 {
    jiff::Timestamp::now().as_second()
}

/// Checks a staff login and opens a session; returns the token for the cookie or bearer header.
/// A wrong name and a wrong password get the same answer, so logins cannot be probed for names.
pub async fn login_staff(store: &DynStore, username: &str, password: &str, lang: &str) -> AppResult<String> {
    if username.trim().is_empty() {
        return Err(FieldError::required("username").into());
    }
    if password.is_empty() {
        return Err(FieldError::required("password").into());
    }
    let wrong = || {
        AppError::Invalid(vec![FieldError::new(
            "password",
            "wrong_credentials",
            "用户名或密码错误",
            "wrong user name or password",
        )])
    };
    let staff = match store.get_staff(username.trim()).await {
        Ok(s) => s,
        Err(StoreError::NotFound) => {
            // Spend the same time as a real check, so that timing does not reveal the name.
            let _ = verify_password(password, DUMMY_HASH.get_or_init(|| hash_password("not a password")));
            return Err(wrong());
        }
        Err(e) => return Err(e.into()),
    };
    if !staff.active || !verify_password(password, &staff.password_hash) {
        return Err(wrong());
    }
    let token = new_token();
    let now = now_unix();
    store
        .create_session(&Session {
            token_hash: token_hash(&token),
            subject: Subject::Staff(staff.id),
            lang: lang.to_string(),
            created_at: now,
            expires_at: now + SESSION_SECONDS,
        })
        .await?;
    Ok(token)
}

static DUMMY_HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// The staff member behind a token, with the bureaus they may see, and the session's language.
pub async fn staff_for_token(store: &DynStore, token: &str) -> AppResult<(Actor, String)> {
    let session = match store.get_session(&token_hash(token), now_unix()).await {
        Ok(s) => s,
        Err(StoreError::NotFound) => return Err(AppError::Unauthorized),
        Err(e) => return Err(e.into()),
    };
    let Subject::Staff(id) = &session.subject else { return Err(AppError::Unauthorized) };
    let staff = match store.get_staff(id).await {
        Ok(s) if s.active => s,
        Ok(_) | Err(StoreError::NotFound) => return Err(AppError::Unauthorized),
        Err(e) => return Err(e.into()),
    };
    let units = store.list_org_units().await?;
    Ok((Actor::for_staff(&staff, &units), session.lang))
}

pub async fn logout(store: &DynStore, token: &str) -> AppResult<()> {
    store.delete_session(&token_hash(token)).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_themselves() {
        let h = hash_password("s3cret!");
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("s3cret!", &h));
        assert!(!verify_password("s3cret", &h));
        assert!(!verify_password("s3cret!", "not a hash"));
    }

    #[test]
    fn tokens_are_random_and_hashed() {
        let (a, b) = (new_token(), new_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(token_hash("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
