//! Rate limits on customer logins and one-time code requests.
//!
//! Each limit is a generic cell rate algorithm (GCRA, the "leaky bucket as a meter"): a key may
//! spend `burst` attempts at once and then earns one back every `per / burst`. Only one instant is
//! kept per key, so an attacker cycling through many keys costs a few bytes each, and the table is
//! swept when it grows past [`RateLimiter::SWEEP_AT`] entries.
//!
//! The limits are per account number and per client address, so a guesser is slowed whether they
//! try many passwords on one account or one password on many accounts.
//!
//! **Several server processes.** The counters live in the memory of each process. Behind a load
//! balancer that spreads one client over N processes, a client gets up to N times the allowance
//! (the limits are a brake, not a lock). Two things do not depend on that:
//! - a one-time code dies after [`super::CODE_MAX_ATTEMPTS`] wrong guesses counted *in the
//!   database* (one statement per guess), so guessing a 6-digit code stays a one-in-200,000 chance
//!   per code however many processes answer;
//! - a code request replaces the earlier code, so flooding requests does not multiply live codes.
//!
//! A province running many processes that wants exact limits across them can pin each client to
//! one process (sticky by address at the balancer), which keeps the per-address counters exact.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// At most `burst` attempts at once, refilled at `burst` per `per`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limit {
    pub burst: u32,
    pub per: Duration,
}

impl Limit {
    pub const fn new(burst: u32, per_secs: u64) -> Limit {
        Limit { burst, per: Duration::from_secs(per_secs) }
    }
}

/// One limit over many keys.
pub struct RateLimiter {
    limit: Limit,
    start: Instant,
    /// Key → theoretical arrival time, in milliseconds since `start`.
    tat: Mutex<HashMap<String, u64>>,
}

impl RateLimiter {
    pub const SWEEP_AT: usize = 100_000;

    pub fn new(limit: Limit) -> RateLimiter {
        RateLimiter { limit, start: Instant::now(), tat: Mutex::new(HashMap::new()) }
    }

    pub fn limit(&self) -> Limit {
        self.limit
    }

    /// Spends one attempt of `key` now; `Err(seconds)` says how long to wait when none is left.
    pub fn check(&self, key: &str) -> Result<(), u64> {
        let now = self.start.elapsed().as_millis() as u64;
        self.check_at(key, now)
    }

    /// [`check`](Self::check) at `now_ms` milliseconds after the limiter was made (for tests).
    pub fn check_at(&self, key: &str, now_ms: u64) -> Result<(), u64> {
        let period = self.limit.per.as_millis() as u64;
        let interval = (period / u64::from(self.limit.burst.max(1))).max(1);
        let mut map = self.tat.lock().expect("rate limiter lock");
        if map.len() >= Self::SWEEP_AT {
            map.retain(|_, tat| *tat > now_ms);
        }
        let tat = map.get(key).copied().unwrap_or(now_ms).max(now_ms);
        let next = tat + interval;
        if next - now_ms > period {
            let wait_ms = next - now_ms - period;
            return Err(wait_ms.div_ceil(1000).max(1));
        }
        map.insert(key.to_string(), next);
        Ok(())
    }

    /// Forgets a key (after a successful login, its account starts afresh).
    pub fn reset(&self, key: &str) {
        self.tat.lock().expect("rate limiter lock").remove(key);
    }
}

/// The portal's limits, one set per server process.
pub struct PortalLimits {
    /// Password and code logins per account number: 5 at once, then one per 3 minutes.
    pub login_account: RateLimiter,
    /// Logins per client address: 20 at once, then one per 45 s.
    pub login_ip: RateLimiter,
    /// Code requests per account number: 1 a minute (burst 1), at most about 5 an hour.
    pub code_account: RateLimiter,
    /// Code requests per client address: 10 at once, then one per 6 minutes.
    pub code_ip: RateLimiter,
}

impl Default for PortalLimits {
    fn default() -> Self {
        PortalLimits {
            login_account: RateLimiter::new(Limit::new(5, 15 * 60)),
            login_ip: RateLimiter::new(Limit::new(20, 15 * 60)),
            code_account: RateLimiter::new(Limit::new(1, 60)),
            code_ip: RateLimiter::new(Limit::new(10, 3600)),
        }
    }
}

impl PortalLimits {
    /// Spends a login attempt of `account` from `ip`; both must allow it.
    pub fn login(&self, account: &str, ip: &str) -> crate::AppResult<()> {
        spend(&[(&self.login_ip, ip), (&self.login_account, account)])
    }

    /// A successful login clears its account's failures (the address's count stays).
    pub fn login_succeeded(&self, account: &str) {
        self.login_account.reset(&account.to_ascii_lowercase());
    }

    /// Spends a code request of `account` from `ip`.
    pub fn code(&self, account: &str, ip: &str) -> crate::AppResult<()> {
        spend(&[(&self.code_ip, ip), (&self.code_account, account)])
    }
}

fn spend(checks: &[(&RateLimiter, &str)]) -> crate::AppResult<()> {
    for (limiter, key) in checks {
        limiter
            .check(&key.to_ascii_lowercase())
            .map_err(|s| crate::AppError::TooManyRequests { retry_after_secs: s })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_one_per_interval() {
        // 5 per 15 minutes: 5 at once, then one every 180 s.
        let l = RateLimiter::new(Limit::new(5, 900));
        for _ in 0..5 {
            assert_eq!(l.check_at("a", 0), Ok(()));
        }
        assert_eq!(l.check_at("a", 0), Err(180));
        assert_eq!(l.check_at("a", 179_000), Err(1));
        assert_eq!(l.check_at("a", 180_000), Ok(()));
        assert_eq!(l.check_at("a", 180_000), Err(180));
        // Another key is not affected, and a reset starts afresh.
        assert_eq!(l.check_at("b", 0), Ok(()));
        l.reset("a");
        assert_eq!(l.check_at("a", 180_000), Ok(()));
        // After a long quiet time the whole burst is back, not more.
        for _ in 0..5 {
            assert_eq!(l.check_at("c", 10_000_000), Ok(()));
        }
        assert!(l.check_at("c", 10_000_000).is_err());
    }

    #[test]
    fn one_a_minute() {
        let l = RateLimiter::new(Limit::new(1, 60));
        assert_eq!(l.check_at("x", 1_000), Ok(()));
        assert_eq!(l.check_at("x", 31_000), Err(30));
        assert_eq!(l.check_at("x", 61_000), Ok(()));
    }
}
