//! Request budgets for public endpoints: per client address for anonymous callers, per
//! token for the collector (the registration site sends everyone's consents from one
//! address, so it gets its own, much larger budget).

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

pub struct RateLimits {
    per_address: DefaultKeyedRateLimiter<IpAddr>,
    per_token: DefaultKeyedRateLimiter<String>,
}

impl RateLimits {
    /// `None` when limits are switched off (`CONSENTD_RATE_LIMIT=off`).
    pub fn new(per_address_per_minute: NonZeroU32, per_token_per_minute: NonZeroU32) -> Self {
        RateLimits {
            per_address: RateLimiter::keyed(Quota::per_minute(per_address_per_minute)),
            per_token: RateLimiter::keyed(Quota::per_minute(per_token_per_minute)),
        }
    }

    /// `Err(wait)` when the budget is spent.
    pub fn check_address(&self, ip: IpAddr) -> Result<(), Duration> {
        self.per_address
            .check_key(&ip)
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }

    pub fn check_token(&self, token_id: &str) -> Result<(), Duration> {
        self.per_token
            .check_key(&token_id.to_owned())
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }

    /// Forgets idle keys, so memory stays bounded.
    pub fn shrink(&self) {
        self.per_address.retain_recent();
        self.per_token.retain_recent();
    }
}
