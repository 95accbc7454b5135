//! Ctrl-C and SIGTERM: the first asks the run to stop after the unit in flight (committed work
//! is kept, nothing is half-written); a second one exits at once with code 130, which is still
//! safe because only complete parts are ever registered.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Shared "please stop" flag, set by signals and polled by stages between units.
#[derive(Clone, Default)]
pub struct StopFlag(Arc<AtomicBool>);

impl StopFlag {
    pub fn is_set(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    pub fn set(&self) {
        self.0.store(true, Ordering::SeqCst)
    }

    /// Resolves once the flag is set (polled every 50 ms), so that async work in flight can be
    /// abandoned at a stop instead of waiting for a server that may never answer.
    pub async fn wait(&self) {
        while !self.is_set() {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// Installs the handlers for SIGINT and SIGTERM.
    pub fn install() -> std::io::Result<StopFlag> {
        let flag = StopFlag::default();
        for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
            // Order matters: the conditional shutdown sees the flag before this signal sets it.
            signal_hook::flag::register_conditional_shutdown(
                sig,
                crate::exit::INTERRUPTED as i32,
                flag.0.clone(),
            )?;
            signal_hook::flag::register(sig, flag.0.clone())?;
        }
        Ok(flag)
    }
}
