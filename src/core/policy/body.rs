//! `limits`: the largest request body (413 beyond it) and the deepest JSON nesting accepted, for every
//! route kind. The depth is counted without parsing, so a hostile body is refused before serde recurses.

use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;

use crate::config::Limits;
use crate::core::error::Error;
use crate::core::jsonrpc::nesting_depth;

#[derive(Debug, Clone, Copy)]
pub struct BodyLimits {
    pub max_bytes: usize,
    pub max_depth: usize,
}

impl From<&Limits> for BodyLimits {
    fn from(limits: &Limits) -> BodyLimits {
        BodyLimits {
            max_bytes: limits.max_body_bytes,
            max_depth: limits.max_json_depth,
        }
    }
}

impl BodyLimits {
    /// Reads a request body within the size limit.
    pub async fn read(&self, incoming: Incoming) -> Result<Bytes, Error> {
        match Limited::new(incoming, self.max_bytes).collect().await {
            Ok(collected) => Ok(collected.to_bytes()),
            Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(Error::BodyTooLarge {
                limit: self.max_bytes,
            }),
            Err(_) => Err(Error::Parse(
                "the request body could not be read".to_string(),
            )),
        }
    }

    /// Reads a JSON request body: within the size limit, and nested no deeper than the depth limit.
    pub async fn read_json(&self, incoming: Incoming) -> Result<Bytes, Error> {
        let bytes = self.read(incoming).await?;
        self.check_depth(&bytes)?;
        Ok(bytes)
    }

    pub fn check_depth(&self, bytes: &[u8]) -> Result<(), Error> {
        if nesting_depth(bytes) > self.max_depth {
            return Err(Error::TooDeep {
                limit: self.max_depth,
            });
        }
        Ok(())
    }
}
