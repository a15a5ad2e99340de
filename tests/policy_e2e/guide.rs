//! The guide's gateway (`examples/eks/config.yaml`) in front of a sample-serving gateway, with the JWKS server
//! its tokens verify against, one at a time; and the calls the tests make through it.

use std::net::SocketAddr;

use jsonwebtoken::Algorithm;
use serde_json::{Value, json};

use crate::common;
use crate::identity_common::{ISSUER, JwksServer, TestKey, sa_claims, with};

/// The weather agent's `allowedTools` in the guide, which are also the sample upstream's six tools.
pub(crate) const SIX_TOOLS: [&str; 6] = [
    "get_weather_data",
    "generate_analysis_code",
    "execute_code",
    "store_user_preferences",
    "get_activity_preferences",
    "store_activity_plan",
];

pub(crate) fn guide_yaml(jwks_uri: &str, upstream: SocketAddr) -> String {
    common::guide::yaml(ISSUER, jwks_uri, upstream)
}

/// The guide's gateway, the sample-serving gateway behind it, and the JWKS server its tokens verify against.
pub(crate) struct Guide {
    pub(crate) front: common::Gateway,
    _upstream: common::Gateway,
    _jwks: JwksServer,
    pub(crate) key: TestKey,
    /// Held for the test's duration: one guide gateway at a time (its config names fixed ports, e.g. the
    /// metrics port 9090, that two copies could not share).
    _serial: tokio::sync::MutexGuard<'static, ()>,
}

pub(crate) static GUIDE_SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

impl Guide {
    pub(crate) async fn start() -> Guide {
        let serial = GUIDE_SERIAL.lock().await;
        let upstream =
            common::gateway(&common::route_yaml("- name: sample\n  type: sample\n")).await;
        let key = TestKey::load("rsa-a", Algorithm::RS256);
        let jwks = JwksServer::start(&[&key]).await;
        let yaml = guide_yaml(&jwks.url(), upstream.addr);
        let loaded = agent_gateway::config::load_str(&yaml, "examples/eks/config.yaml")
            .unwrap_or_else(|d| panic!("the guide's config does not load: {d:?}"));
        let running = agent_gateway::gateway::runtime::start(&loaded.config)
            .await
            .expect("the guide's gateway starts");
        let bound = running.addresses[0];
        assert!(
            bound.ip().is_unspecified(),
            "the guide's bind has no address, so the default 0.0.0.0 applies: {bound}"
        );
        let addr = SocketAddr::from(([127, 0, 0, 1], bound.port()));
        let front = common::Gateway { addr, running };
        common::wait_ready(&front.url("/readyz")).await;
        Guide {
            front,
            _upstream: upstream,
            _jwks: jwks,
            key,
            _serial: serial,
        }
    }

    pub(crate) fn mcp(&self) -> String {
        self.front.url("/mcp")
    }

    /// A token as `kubectl create token <sa> --audience agent-gateway` gives it, for `sub`.
    pub(crate) fn token(&self, sub: &str) -> String {
        self.key.sign(&with(sa_claims(), json!({ "sub": sub })))
    }

    pub(crate) async fn rpc(&self, token: Option<&str>, body: &Value) -> common::Reply {
        let bearer = token.map(|t| format!("Bearer {t}"));
        let headers: Vec<(&str, &str)> = bearer
            .iter()
            .map(|b| ("authorization", b.as_str()))
            .collect();
        common::post_json(&self.mcp(), &headers, body).await
    }

    pub(crate) async fn call(
        &self,
        token: &str,
        id: i64,
        tool: &str,
        arguments: Value,
    ) -> common::Reply {
        let body = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
                          "params": {"name": tool, "arguments": arguments}});
        self.rpc(Some(token), &body).await
    }

    pub(crate) async fn tool_names(&self, token: &str) -> Vec<String> {
        let reply = self
            .rpc(
                Some(token),
                &json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}),
            )
            .await;
        assert_eq!(reply.status, 200, "tools/list: {}", reply.text);
        let body = reply.json();
        assert!(
            body.get("error").is_none(),
            "tools/list failed: {}",
            reply.text
        );
        assert!(
            body["result"].get("nextCursor").is_none(),
            "one page: {}",
            reply.text
        );
        body["result"]["tools"]
            .as_array()
            .unwrap_or_else(|| panic!("no tools array: {}", reply.text))
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_string())
            .collect()
    }
}
