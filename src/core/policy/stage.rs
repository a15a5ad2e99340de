//! The call stage's interface: a policy that checks calls implements [`Stage`] in its own file, and the
//! pipeline builder (`policy/mod.rs`) adds it with one line.

use futures_util::future::BoxFuture;
use serde_json::Value;

use super::call::Call;
use crate::core::error::Error;

/// What a stage says about a call: most stages decide at once; a stage that must ask a shared store
/// (a rate limit in Redis) answers later.
pub enum Check<'a> {
    Pass,
    Refuse(Error),
    Later(BoxFuture<'a, Result<(), Error>>),
}

impl From<Result<(), Error>> for Check<'_> {
    fn from(result: Result<(), Error>) -> Self {
        match result {
            Ok(()) => Check::Pass,
            Err(e) => Check::Refuse(e),
        }
    }
}

pub trait Stage: Send + Sync {
    /// The policy's `type:` in the config, for logs and docs.
    fn name(&self) -> &'static str;

    /// Checks a call before any upstream sees it.
    fn check<'a>(&'a self, _call: &'a Call<'a>) -> Check<'a> {
        Check::Pass
    }

    /// Checks an upstream's result (the JSON-RPC `result`) before the caller sees it.
    fn check_result(&self, _call: &Call<'_>, _result: &Value) -> Result<(), Error> {
        Ok(())
    }
}
