//! The top-level `rateLimitStore` section (extension): where limits live when they must hold across replicas.
//!
//! ```yaml
//! rateLimitStore:
//!   redis: redis://redis.agent-gateway.svc:6379
//!   failMode: failOpen      # or failClosed; default failOpen
//! ```

use super::cx::Cx;
use super::types::{RateLimitFailMode, RateLimitStore};
use super::yaml::Node;

pub fn rate_limit_store(cx: &mut Cx, node: &Node, path: &str) -> Option<RateLimitStore> {
    let o = cx.obj(node, path, &["redis", "failMode"])?;
    let redis_url = cx.required(&o, "redis", redis_url);
    let fail_mode = cx
        .field(&o, "failMode", |cx, n, p| {
            cx.choice(n, p, &["failOpen", "failClosed"])
        })
        .map_or(RateLimitFailMode::default(), |m| match m.as_str() {
            "failClosed" => RateLimitFailMode::Closed,
            _ => RateLimitFailMode::Open,
        });
    if !super::ACTIVE_POLICY_TYPES.contains(&"rate-limit") {
        cx.inactive(
            node,
            path,
            "the shared rate-limit store (no rate limits are applied)",
        );
    }
    Some(RateLimitStore {
        redis_url: redis_url?,
        fail_mode,
        location: o.location(&cx.file),
    })
}

fn redis_url(cx: &mut Cx, node: &Node, path: &str) -> Option<String> {
    let url = cx.text(node, path)?;
    match check_redis_url(&url) {
        Ok(()) => Some(url),
        Err(msg) => {
            cx.error(node, path, msg);
            None
        }
    }
}

/// The URL forms the limiter's Redis client accepts in this build (TCP and Unix sockets, no TLS).
fn check_redis_url(url: &str) -> Result<(), String> {
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err(format!(
            "\"{url}\" is not a Redis URL; expected redis://host:port (e.g. redis://127.0.0.1:6379)"
        ));
    };
    match scheme {
        "redis" => {
            // The host is what follows any `user:password@` and precedes `:port` or `/db`.
            let authority = rest.split('/').next().unwrap_or_default();
            let host = authority.rsplit('@').next().unwrap_or_default();
            if host.is_empty() || host.starts_with(':') {
                return Err(format!(
                    "\"{url}\" has no host; expected redis://host:port"
                ));
            }
            Ok(())
        }
        "unix" | "redis+unix" if rest.starts_with('/') => Ok(()),
        "unix" | "redis+unix" => Err(format!(
            "\"{url}\" needs an absolute socket path, e.g. unix:///run/redis.sock"
        )),
        "rediss" => Err(
            "TLS to Redis (rediss://) is not supported by this build; use redis:// on a private network or through a TLS sidecar"
                .to_string(),
        ),
        other => Err(format!(
            "unknown scheme \"{other}\"; expected redis://host:port or unix:///path/to/socket"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::check_redis_url;

    #[test]
    fn url_forms() {
        for ok in [
            "redis://127.0.0.1:6379",
            "redis://:secret@redis:6379/2",
            "redis://redis",
            "unix:///run/redis.sock",
        ] {
            assert_eq!(check_redis_url(ok), Ok(()), "{ok}");
        }
        for bad in [
            "127.0.0.1:6379",
            "redis://:6379",
            "rediss://r:6379",
            "http://r",
            "unix://x",
        ] {
            assert!(check_redis_url(bad).is_err(), "{bad}");
        }
    }
}
