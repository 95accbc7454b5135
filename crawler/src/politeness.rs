//! Per-host politeness: one request at a time per host, spaced by the host's interval.
//!
//! A [`HostBudget`] belongs to a *site key* (the registrable domain: `www.acme.fr`, `acme.fr`,
//! http and https share one budget). Each request is paced by the budget of the URL it actually
//! goes to ([`HostBudgets::for_url`]), redirect hops included, so a host's pace holds whichever
//! site's crawl reaches it (a lead whose site redirects to another lead's). Holding its [`Permit`] is the right to one request; the
//! permit is released when the response has been read. With a burst of 1 the next request
//! starts at least one interval after the previous response *ended*, so the server never sees
//! two requests closer than the interval, however late the previous one reached it. With a
//! larger burst, a `governor` token bucket paces request starts.
//!
//! Several processes crawling at once (workers on several machines) share a host's pace through
//! a [`SharedPace`]: after the local permit, each request takes a slot of the host's interval
//! from it, so two workers whose crawls reach the same host (one lead's site redirecting to
//! another lead's, leased by another worker) still space their requests.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tokio::time::Instant;

struct Pace {
    interval: Duration,
    burst: u32,
    limiter: DefaultDirectRateLimiter,
    last_done: Option<Instant>,
}

fn limiter(interval: Duration, burst: u32) -> DefaultDirectRateLimiter {
    let period = interval.max(Duration::from_micros(1));
    let quota = Quota::with_period(period)
        .expect("non-zero period")
        .allow_burst(NonZeroU32::new(burst.max(1)).expect("burst >= 1"));
    RateLimiter::direct(quota)
}

/// The politeness budget of one host (site key).
pub struct HostBudget {
    pace: tokio::sync::Mutex<Pace>,
    /// The interval in nanoseconds, readable without waiting for the host's turn (the lock is
    /// held through a request and the wait before it).
    interval_ns: std::sync::atomic::AtomicU64,
}

/// The right to send one request to a host; dropping it records when the exchange ended.
pub struct Permit<'a> {
    guard: tokio::sync::MutexGuard<'a, Pace>,
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        self.guard.last_done = Some(Instant::now());
    }
}

impl HostBudget {
    pub fn new(interval: Duration, burst: u32) -> HostBudget {
        HostBudget {
            pace: tokio::sync::Mutex::new(Pace {
                interval,
                burst,
                limiter: limiter(interval, burst),
                last_done: None,
            }),
            interval_ns: std::sync::atomic::AtomicU64::new(
                interval.as_nanos().min(u128::from(u64::MAX)) as u64,
            ),
        }
    }

    /// Waits for this host's turn. Only one permit of a host exists at a time.
    pub async fn acquire(&self) -> Permit<'_> {
        let guard = self.pace.lock().await;
        if guard.burst <= 1 {
            if let Some(done) = guard.last_done {
                tokio::time::sleep_until(done + guard.interval).await;
            }
        } else {
            guard.limiter.until_ready().await;
        }
        Permit { guard }
    }

    /// Slows the host down (robots.txt `Crawl-delay`); never speeds it up.
    pub async fn at_least(&self, interval: Duration) {
        let mut p = self.pace.lock().await;
        if interval > p.interval {
            p.interval = interval;
            p.limiter = limiter(interval, p.burst);
            self.interval_ns.store(
                interval.as_nanos().min(u128::from(u64::MAX)) as u64,
                std::sync::atomic::Ordering::Release,
            );
        }
    }

    pub async fn interval(&self) -> Duration {
        self.pace.lock().await.interval
    }

    /// The current interval, at once, even while a request to the host is in flight.
    pub fn current_interval(&self) -> Duration {
        Duration::from_nanos(self.interval_ns.load(std::sync::atomic::Ordering::Acquire))
    }
}

/// A host pace kept outside this process, shared by every process that crawls.
pub trait SharedPace: Send + Sync {
    /// Takes the next slot of host `key` (a site key) spaced by `interval` from the previous
    /// slot of any process, and returns how long to wait for it. Infallible by contract: an
    /// implementation that cannot reach its store answers `interval` (the cautious wait).
    fn slot(&self, key: String, interval: Duration) -> BoxedWait;
}

/// The future of a [`SharedPace`] slot: how long to wait before sending.
pub type BoxedWait = std::pin::Pin<Box<dyn std::future::Future<Output = Duration> + Send>>;

/// Budgets by site key, shared by every task that talks to a host.
pub struct HostBudgets {
    interval: Duration,
    burst: u32,
    map: Mutex<HashMap<String, Arc<HostBudget>>>,
    shared: Option<Arc<dyn SharedPace>>,
}

impl HostBudgets {
    /// `requests_per_second` and `burst` are the default for every host.
    pub fn new(requests_per_second: f64, burst: u32) -> HostBudgets {
        let interval = Duration::from_secs_f64(1.0 / requests_per_second.max(1e-6));
        HostBudgets {
            interval,
            burst,
            map: Mutex::new(HashMap::new()),
            shared: None,
        }
    }

    /// Every request also takes a slot from `shared` (see [`SharedPace`]).
    pub fn with_shared_pace(mut self, shared: Arc<dyn SharedPace>) -> HostBudgets {
        self.shared = Some(shared);
        self
    }

    /// The wait for a slot of `url`'s host in the shared pace; zero without one.
    pub async fn shared_slot(&self, url: &url::Url, interval: Duration) -> Duration {
        match &self.shared {
            None => Duration::ZERO,
            Some(shared) => {
                let key = crate::site::site_key(url)
                    .unwrap_or_else(|| url.host_str().unwrap_or_default().to_owned());
                shared.slot(key, interval).await
            }
        }
    }

    pub fn get(&self, key: &str) -> Arc<HostBudget> {
        let mut m = self.map.lock().unwrap_or_else(|p| p.into_inner());
        m.entry(key.to_string())
            .or_insert_with(|| Arc::new(HostBudget::new(self.interval, self.burst)))
            .clone()
    }

    /// The budget of the host `url` goes to: its site key ([`crate::site::site_key`]).
    pub fn for_url(&self, url: &url::Url) -> Arc<HostBudget> {
        match crate::site::site_key(url) {
            Some(k) => self.get(&k),
            None => self.get(url.host_str().unwrap_or_default()),
        }
    }

    pub fn default_interval(&self) -> Duration {
        self.interval
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "current_thread")]
    async fn spaces_from_the_end_of_the_previous_exchange() {
        let b = HostBudget::new(Duration::from_millis(100), 1);
        let t0 = Instant::now();
        {
            let _p = b.acquire().await;
            tokio::time::sleep(Duration::from_millis(30)).await; // a slow response
        }
        let _p2 = b.acquire().await;
        assert!(Instant::now() - t0 >= Duration::from_millis(130));
    }
}
