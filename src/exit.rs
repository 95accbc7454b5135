//! Exit codes, in one place: a scheduler branches on them.
//!
//! | code | meaning |
//! | --- | --- |
//! | 0 | success: every selected stage is done, each with at most `pipeline.max_failed_share` of its units failed |
//! | 1 | a stage failed (its error is logged and in `leadcrawl status`) |
//! | 2 | usage or config error: nothing ran (or the input cannot be read) |
//! | 3 | stages completed, but in a stage more than `pipeline.max_failed_share` of its units failed (recorded) |
//! | 4 | another leadcrawl run is using the same output folder: nothing was done |
//! | 130 | interrupted by Ctrl-C / SIGTERM: committed work is kept; run again to resume |

use std::process::ExitCode;

pub const SUCCESS: u8 = 0;
pub const STAGE_FAILED: u8 = 1;
pub const USAGE: u8 = 2;
pub const UNITS_FAILED: u8 = 3;
pub const BUSY: u8 = 4;
pub const INTERRUPTED: u8 = 130;

/// Another run holds the output folder's lock (exit code 4).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Busy(pub String);

/// A mistake the user fixes in the command line, config or input (exit code 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Maps an error at the binary's edge to its exit code.
pub fn code_for(err: &anyhow::Error) -> u8 {
    for cause in err.chain() {
        if cause.is::<Busy>() {
            return BUSY;
        }
        if cause.is::<UsageError>()
            || cause.is::<crate::config::ConfigError>()
            || cause.is::<crate::input::InputError>()
        {
            return USAGE;
        }
    }
    STAGE_FAILED
}

pub fn code(c: u8) -> ExitCode {
    ExitCode::from(c)
}
