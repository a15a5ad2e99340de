//! `limits`: the largest request body (413 beyond it), the time it may take to arrive (408 after it) and
//! the deepest JSON nesting accepted, for every route kind. The depth is counted without parsing, so a
//! hostile body is refused before serde recurses.

use std::time::Duration;

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
    /// The deadline holds however the bytes trickle in.
    pub read_timeout: Duration,
}

impl From<&Limits> for BodyLimits {
    fn from(limits: &Limits) -> BodyLimits {
        BodyLimits {
            max_bytes: limits.max_body_bytes,
            max_depth: limits.max_json_depth,
            read_timeout: limits.body_read_timeout,
        }
    }
}

impl BodyLimits {
    /// Reads a request body within the size and time limits. A declared length past the limit is refused
    /// before a byte of the body is awaited.
    pub async fn read(&self, incoming: Incoming) -> Result<Bytes, Error> {
        if hyper::body::Body::size_hint(&incoming).lower() > self.max_bytes as u64 {
            return Err(Error::BodyTooLarge {
                limit: self.max_bytes,
            });
        }
        let collect = Limited::new(incoming, self.max_bytes).collect();
        let Ok(collected) = tokio::time::timeout(self.read_timeout, collect).await else {
            return Err(Error::BodyTimeout {
                limit: self.read_timeout,
            });
        };
        match collected {
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
