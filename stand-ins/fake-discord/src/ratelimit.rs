//! Discord's rate limits as the fake applies them: per-route buckets keyed by route and major
//! parameter (channel, guild, webhook + token, interaction), the global limit per bot token, and
//! the answers Discord gives — `X-RateLimit-*` headers on every REST answer and a 429 with
//! `{"message", "retry_after", "global"}`, `Retry-After` and `X-RateLimit-Scope` when a limit is hit.
//!
//! Two kinds of limiter, chosen for faithfulness:
//! - **Per-route buckets** are Discord's own model: `limit` requests, then nothing until the
//!   bucket resets at one instant (`X-RateLimit-Reset`), after which the whole `limit` is back.
//!   That is a window, kept here as a count and a reset instant. A GCRA (governor) would hand back
//!   one request every `per / limit` after a burst, i.e. accept requests Discord refuses; the fake
//!   must be at least as strict as Discord, and its headers must describe exactly what it will do.
//! - **The global limit** (50 requests/s per bot token) has no reset header or bucket on Discord's
//!   side, only a rate, so it is a `governor` GCRA limiter: a kept crate instead of another window.
//!
//! Interaction callbacks and webhook routes that carry an interaction token are outside the global
//! limit, as on Discord. The CDN (`/attachments/...`) is not the REST API and is never limited.
//! This module only decides; it never changes the fake's world, so a limited request changes nothing.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota};
use serde_json::{json, Value};

/// Who a 429 is about, as Discord names it in `X-RateLimit-Scope`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RateLimitScope {
    /// The bot's own per-route limit (counts toward Discord's invalid-request ban).
    User,
    /// The limit of the whole bot token across routes.
    Global,
    /// A limit of the resource shared by every user of it (does not count toward the ban).
    Shared,
}

impl RateLimitScope {
    pub fn as_str(self) -> &'static str {
        match self {
            RateLimitScope::User => "user",
            RateLimitScope::Global => "global",
            RateLimitScope::Shared => "shared",
        }
    }
}

/// A per-route limit: requests matching `method` (or `*`) and `pattern` (path segments, `*` for
/// one segment, `/api/v10` optional) get `limit` requests per `per`, per major parameter.
#[derive(Clone, Debug)]
pub struct RouteLimit {
    pub method: String,
    pub pattern: String,
    pub limit: u32,
    pub per: Duration,
    /// `User` for the bot's own bucket, `Shared` for a per-resource limit.
    pub scope: RateLimitScope,
}

impl RouteLimit {
    pub fn new(method: &str, pattern: &str, limit: u32, per: Duration) -> Self {
        Self {
            method: method.to_string(),
            pattern: pattern.to_string(),
            limit,
            per,
            scope: RateLimitScope::User,
        }
    }

    pub fn shared(mut self) -> Self {
        self.scope = RateLimitScope::Shared;
        self
    }
}

/// The fake's rate limits ([`crate::FakeDiscordConfig::rate_limits`]). `Default` is Discord's:
/// 50 requests/s globally and the per-route buckets Discord answers for the routes the shop uses.
#[derive(Clone, Debug)]
pub struct RateLimitConfig {
    /// Off: no headers and no 429s (only for tests that study something else under bursts).
    pub enabled: bool,
    /// Requests per second per bot token, interaction callbacks and token webhooks excepted.
    pub global_per_second: u32,
    /// Specific buckets, first match wins.
    pub routes: Vec<RouteLimit>,
    /// The bucket of every other route.
    pub default_limit: u32,
    pub default_per: Duration,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self::discord()
    }
}

impl RateLimitConfig {
    /// Discord's limits as its headers report them for these routes: creating messages is 5 per
    /// 5 s per channel, executing a webhook (follow-ups) 5 per 2 s per webhook and token.
    pub fn discord() -> Self {
        Self {
            enabled: true,
            global_per_second: 50,
            routes: vec![
                RouteLimit::new("POST", "/channels/*/messages", 5, Duration::from_secs(5)),
                RouteLimit::new("POST", "/webhooks/*/*", 5, Duration::from_secs(2)),
            ],
            default_limit: 50,
            default_per: Duration::from_secs(1),
        }
    }

    /// No rate limiting at all.
    pub fn off() -> Self {
        Self {
            enabled: false,
            ..Self::discord()
        }
    }

    /// Limits small enough for a test to hit: `global_per_second` for the token, `route_limit`
    /// requests per `per` for every route bucket.
    pub fn tight(global_per_second: u32, route_limit: u32, per: Duration) -> Self {
        Self {
            enabled: true,
            global_per_second,
            routes: Vec::new(),
            default_limit: route_limit,
            default_per: per,
        }
    }
}

/// A rate limit the fake enforced, for tests to read back.
#[derive(Clone, Debug)]
pub struct RateLimitHit {
    pub method: String,
    pub path: String,
    pub scope: RateLimitScope,
    /// The `retry_after` the 429 carried.
    pub retry_after: Duration,
}

impl RateLimitHit {
    /// The route bucket the request fell in, ids and tokens replaced: `POST /channels/{id}/messages`.
    pub fn route(&self) -> String {
        route_template(&self.method, &self.path)
    }
}

/// A request's route as Discord's buckets see it, ids and tokens replaced
/// (`POST /channels/{id}/messages`), and whether it counts toward the global limit.
pub fn route_template(method: &str, path: &str) -> String {
    Route::of(method, &crate::failures::route_segments(path)).template
}

/// Whether a request counts toward the bot token's global limit (interaction callbacks, token
/// webhooks and the CDN do not).
pub fn counts_toward_global(method: &str, path: &str) -> bool {
    let segments = crate::failures::route_segments(path);
    segments.first().is_none_or(|s| s != "attachments") && Route::of(method, &segments).global
}

/// The 429s the limiter answered, by scope and by route (see [`RateLimitHit::route`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RateLimitCounts {
    /// Refused by the token's global limit.
    pub global: usize,
    /// Refused by a per-route bucket of the bot (`X-RateLimit-Scope: user`), by route.
    pub user: std::collections::BTreeMap<String, usize>,
    /// Refused by a shared per-resource limit, by route (not counted toward the ban by Discord).
    pub shared: std::collections::BTreeMap<String, usize>,
}

impl RateLimitCounts {
    pub fn of(hits: &[RateLimitHit]) -> Self {
        let mut counts = RateLimitCounts::default();
        for hit in hits {
            match hit.scope {
                RateLimitScope::Global => counts.global += 1,
                RateLimitScope::User => *counts.user.entry(hit.route()).or_default() += 1,
                RateLimitScope::Shared => *counts.shared.entry(hit.route()).or_default() += 1,
            }
        }
        counts
    }

    /// Every 429, whatever its scope.
    pub fn total(&self) -> usize {
        self.global + self.user.values().sum::<usize>() + self.shared.values().sum::<usize>()
    }

    /// The most any one route bucket answered 429 (user or shared scope).
    pub fn worst_route(&self) -> usize {
        self.user
            .values()
            .chain(self.shared.values())
            .copied()
            .max()
            .unwrap_or(0)
    }
}

/// The limiter's answer for one request: the headers every answer carries, and the 429 to send
/// instead of routing when a limit was hit.
#[derive(Default)]
pub(crate) struct Verdict {
    pub headers: Vec<(String, String)>,
    pub refusal: Option<(u16, Value)>,
}

/// One per-route bucket: Discord's count that resets at one instant.
struct Bucket {
    limit: u32,
    per: Duration,
    remaining: u32,
    resets_at: Instant,
}

impl Bucket {
    /// Refills the bucket when its window is over; a new window starts with the first request.
    fn refresh(&mut self, now: Instant) {
        if now >= self.resets_at {
            self.remaining = self.limit;
            self.resets_at = now + self.per;
        }
    }
}

/// Which bucket a request falls in, and whether it counts toward the global limit.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Route {
    /// Method and path with ids and tokens replaced, e.g. `POST /channels/{id}/messages`.
    pub template: String,
    /// Discord's major parameter: the channel, guild, webhook + token or interaction.
    pub major: String,
    pub global: bool,
}

impl Route {
    /// `segments` without the `/api/v10` prefix.
    pub fn of(method: &str, segments: &[String]) -> Self {
        let first = segments.first().map(String::as_str).unwrap_or("");
        let token_route = matches!(first, "interactions" | "webhooks") && segments.len() >= 3;
        let template: Vec<&str> = segments
            .iter()
            .enumerate()
            .map(|(i, s)| {
                if token_route && i == 2 {
                    "{token}"
                } else if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
                    "{id}"
                } else {
                    s.as_str()
                }
            })
            .collect();
        let major = match (first, segments.get(1), segments.get(2)) {
            ("channels" | "guilds", Some(id), _) => format!("{first}:{id}"),
            ("webhooks", Some(id), Some(token)) => format!("webhooks:{id}:{token}"),
            ("webhooks", Some(id), None) => format!("webhooks:{id}"),
            ("interactions", Some(id), _) => format!("interactions:{id}"),
            _ => String::new(),
        };
        Self {
            template: format!("{} /{}", method.to_ascii_uppercase(), template.join("/")),
            major,
            global: !token_route,
        }
    }

    /// Discord's `X-RateLimit-Bucket`: an opaque hash of the route, the same for every major
    /// parameter (FNV-1a, so it is stable across runs).
    fn bucket_hash(&self) -> String {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for b in self.template.bytes() {
            hash ^= u64::from(b);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        format!("{hash:016x}")
    }
}

pub(crate) struct RateLimiter {
    config: RateLimitConfig,
    /// Route patterns split once.
    patterns: Vec<Vec<String>>,
    global: Option<DefaultDirectRateLimiter>,
    clock: DefaultClock,
    buckets: Mutex<HashMap<(String, String), Bucket>>,
    hits: Mutex<Vec<RateLimitHit>>,
}

impl RateLimiter {
    pub fn new(config: &RateLimitConfig) -> Self {
        let global = NonZeroU32::new(config.global_per_second)
            .filter(|_| config.enabled)
            .map(|n| governor::RateLimiter::direct(Quota::per_second(n)));
        Self {
            patterns: config
                .routes
                .iter()
                .map(|r| crate::failures::route_segments(&r.pattern))
                .collect(),
            config: config.clone(),
            global,
            clock: DefaultClock::default(),
            buckets: Mutex::new(HashMap::new()),
            hits: Mutex::new(Vec::new()),
        }
    }

    pub fn hits(&self) -> Vec<RateLimitHit> {
        self.hits.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The limit of the bucket `segments` fall in: (limit, per, scope).
    fn limit_for(&self, method: &str, segments: &[String]) -> (u32, Duration, RateLimitScope) {
        self.config
            .routes
            .iter()
            .zip(&self.patterns)
            .find(|(r, pattern)| {
                (r.method == "*" || r.method.eq_ignore_ascii_case(method))
                    && pattern.len() == segments.len()
                    && pattern
                        .iter()
                        .zip(segments)
                        .all(|(p, s)| p == "*" || p == s)
            })
            .map(|(r, _)| (r.limit, r.per, r.scope))
            .unwrap_or((
                self.config.default_limit,
                self.config.default_per,
                RateLimitScope::User,
            ))
    }

    /// Counts the request against its limits and says how to answer. CDN paths are not limited.
    pub fn check(&self, method: &str, path: &str, segments: &[String]) -> Verdict {
        let allowed = Verdict {
            headers: Vec::new(),
            refusal: None,
        };
        if !self.config.enabled || segments.first().is_some_and(|s| s == "attachments") {
            return allowed;
        }
        let route = Route::of(method, segments);
        let (limit, per, scope) = self.limit_for(method, segments);
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let bucket = buckets
            .entry((route.template.clone(), route.major.clone()))
            .or_insert_with(|| Bucket {
                limit: limit.max(1),
                per,
                remaining: limit.max(1),
                resets_at: now,
            });
        bucket.refresh(now);

        // The global limit first: a request it refuses does not spend the route's bucket.
        if route.global {
            if let Some(global) = &self.global {
                if let Err(not_until) = global.check() {
                    let wait = not_until.wait_time_from(self.clock.now());
                    let mut headers = bucket_headers(&route, bucket, now);
                    headers.push(("X-RateLimit-Global".into(), "true".into()));
                    drop(buckets);
                    return self.refuse(method, path, RateLimitScope::Global, wait, headers);
                }
            }
        }
        if bucket.remaining == 0 {
            let wait = bucket.resets_at.saturating_duration_since(now);
            let headers = bucket_headers(&route, bucket, now);
            drop(buckets);
            return self.refuse(method, path, scope, wait, headers);
        }
        bucket.remaining -= 1;
        Verdict {
            headers: bucket_headers(&route, bucket, now),
            refusal: None,
        }
    }

    fn refuse(
        &self,
        method: &str,
        path: &str,
        scope: RateLimitScope,
        wait: Duration,
        mut headers: Vec<(String, String)>,
    ) -> Verdict {
        let retry_after = (wait.as_secs_f64() * 1000.0).ceil() / 1000.0;
        // Discord's header is whole seconds, rounded up; the body has the precise float.
        headers.push((
            "Retry-After".into(),
            format!("{}", retry_after.ceil().max(1.0) as u64),
        ));
        headers.push(("X-RateLimit-Scope".into(), scope.as_str().into()));
        self.hits
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(RateLimitHit {
                method: method.to_string(),
                path: path.to_string(),
                scope,
                retry_after: wait,
            });
        tracing::debug!(%method, scope = scope.as_str(), retry_after, "fake discord: rate limited");
        Verdict {
            headers,
            refusal: Some((
                429,
                json!({
                    "message": "You are being rate limited.",
                    "retry_after": retry_after,
                    "global": scope == RateLimitScope::Global,
                }),
            )),
        }
    }
}

/// `X-RateLimit-Limit/Remaining/Reset/Reset-After/Bucket` for the bucket's current state.
fn bucket_headers(route: &Route, bucket: &Bucket, now: Instant) -> Vec<(String, String)> {
    let reset_after = bucket.resets_at.saturating_duration_since(now);
    let reset_at = SystemTime::now()
        .checked_add(reset_after)
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map(|d| d.as_secs_f64())
        .unwrap_or_default();
    vec![
        ("X-RateLimit-Limit".into(), bucket.limit.to_string()),
        ("X-RateLimit-Remaining".into(), bucket.remaining.to_string()),
        ("X-RateLimit-Reset".into(), format!("{reset_at:.3}")),
        (
            "X-RateLimit-Reset-After".into(),
            format!("{:.3}", reset_after.as_secs_f64()),
        ),
        ("X-RateLimit-Bucket".into(), route.bucket_hash()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::failures::route_segments;

    fn route(method: &str, path: &str) -> Route {
        Route::of(method, &route_segments(path))
    }

    #[test]
    fn buckets_are_keyed_by_route_and_major_parameter() {
        let a = route("POST", "/api/v10/channels/111/messages");
        let b = route("POST", "/api/v10/channels/222/messages");
        assert_eq!(a.template, "POST /channels/{id}/messages");
        assert_eq!(a.template, b.template);
        assert_ne!(a.major, b.major);
        assert_eq!(
            a.bucket_hash(),
            b.bucket_hash(),
            "one bucket hash per route"
        );
        let hook = route("PATCH", "/api/v10/webhooks/1/tok-en/messages/@original");
        assert_eq!(
            hook.template,
            "PATCH /webhooks/{id}/{token}/messages/@original"
        );
        assert_eq!(hook.major, "webhooks:1:tok-en");
        assert!(!hook.global, "token webhooks are outside the global limit");
        let callback = route("POST", "/api/v10/interactions/5/tok/callback");
        assert!(
            !callback.global,
            "interaction callbacks are outside the global limit"
        );
        assert!(route("POST", "/api/v10/users/@me/channels").global);
    }

    #[test]
    fn an_exhausted_bucket_refuses_until_it_resets() {
        let limiter =
            RateLimiter::new(&RateLimitConfig::tight(1000, 2, Duration::from_millis(200)));
        let segs = route_segments("/api/v10/channels/1/messages");
        assert!(limiter.check("POST", "/x", &segs).refusal.is_none());
        assert!(limiter.check("POST", "/x", &segs).refusal.is_none());
        let refused = limiter.check("POST", "/x", &segs);
        let (status, body) = refused.refusal.expect("third request refused");
        assert_eq!(status, 429);
        assert_eq!(body["global"], false);
        assert!(body["retry_after"].as_f64().unwrap() <= 0.2);
        std::thread::sleep(Duration::from_millis(210));
        assert!(limiter.check("POST", "/x", &segs).refusal.is_none());
    }

    #[test]
    fn refusals_are_counted_by_scope_and_route() {
        let limiter = RateLimiter::new(&RateLimitConfig::tight(2, 1, Duration::from_secs(5)));
        let path = "/api/v10/channels/7/messages";
        let segs = route_segments(path);
        assert!(limiter.check("POST", path, &segs).refusal.is_none());
        // The bucket of channel 7 is spent: a route refusal.
        assert!(limiter.check("POST", path, &segs).refusal.is_some());
        // The global limit (2/s) is spent too by now: a global refusal.
        let other = "/api/v10/channels/8/messages";
        assert!(limiter
            .check("POST", other, &route_segments(other))
            .refusal
            .is_some());
        let counts = RateLimitCounts::of(&limiter.hits());
        assert_eq!(counts.global, 1);
        assert_eq!(counts.user.get("POST /channels/{id}/messages"), Some(&1));
        assert_eq!((counts.total(), counts.worst_route()), (2, 1));
    }

    #[test]
    fn disabled_limits_answer_no_headers_and_never_refuse() {
        let limiter = RateLimiter::new(&RateLimitConfig::off());
        let segs = route_segments("/api/v10/channels/1/messages");
        for _ in 0..100 {
            let v = limiter.check("POST", "/x", &segs);
            assert!(v.refusal.is_none() && v.headers.is_empty());
        }
    }
}
