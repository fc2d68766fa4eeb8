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
            .check_key(&network_of(ip))
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

/// IPv6 clients usually hold a whole /64: counting each address would let one client rotate
/// through budgets.
fn network_of(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) if v6.to_ipv4_mapped().is_none() => {
            let s = v6.segments();
            IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
        }
        IpAddr::V6(v6) => IpAddr::V4(v6.to_ipv4_mapped().expect("checked")),
        v4 => v4,
    }
}
