//! The one place that reads the wall clock.
//!
//! Everything else takes a [`Clock`] (or a `now` it produced) as an input, so tests can run
//! the real server on a clock they advance to cover expiry without sleeping.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch: the unit of every timestamp we store or put in a token.
pub type UnixTime = i64;

/// A source of the current time, shared by every part of one application.
#[derive(Clone, Debug)]
pub struct Clock(Source);

#[derive(Clone, Debug)]
enum Source {
    System,
    Manual(Arc<AtomicI64>),
}

impl Clock {
    /// The real clock.
    pub fn system() -> Self {
        Self(Source::System)
    }

    /// A clock that stands still at `start` until [`Clock::advance`] moves it.
    pub fn manual(start: UnixTime) -> Self {
        Self(Source::Manual(Arc::new(AtomicI64::new(start))))
    }

    /// The current time in whole seconds since the Unix epoch.
    pub fn now(&self) -> UnixTime {
        match &self.0 {
            #[allow(clippy::disallowed_methods)] // the one sanctioned read of the wall clock
            Source::System => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX)),
            Source::Manual(t) => t.load(Ordering::SeqCst),
        }
    }

    /// Moves a manual clock forward; a no-op on the system clock.
    pub fn advance(&self, by: Duration) {
        if let Source::Manual(t) = &self.0 {
            let secs = i64::try_from(by.as_secs()).unwrap_or(i64::MAX);
            t.fetch_add(secs, Ordering::SeqCst);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_advanced() {
        let clock = Clock::manual(1_000);
        assert_eq!(clock.now(), 1_000);
        clock.clone().advance(Duration::from_secs(61));
        assert_eq!(clock.now(), 1_061, "clones share one time");
    }

    #[test]
    fn system_clock_is_after_2024() {
        assert!(Clock::system().now() > 1_700_000_000);
    }
}
