//! `agent-gateway quickstart`: a working gateway on 127.0.0.1 with the built-in sample upstream, and with
//! `--auth` a token issuer of its own so a newcomer can try authentication and authorization in one step:
//! an Ed25519 key made at start, its JWKS served on a loopback port, and a ready token for a sample
//! principal that may call three of the six tools.

use std::net::SocketAddr;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::json;

use crate::config::{self, GatewayConfig};

pub const ISSUER: &str = "https://quickstart.agent-gateway.local";
pub const PRINCIPAL: &str = "quickstart-agent";
pub const AUDIENCE: &str = "agent-gateway";

/// The quickstart config: the bundled example, on `port`, with the issuer's policies when `jwks` is set.
pub fn config(port: u16, jwks: Option<SocketAddr>) -> GatewayConfig {
    let mut text = include_str!("../../examples/quickstart.yaml")
        .replace("port: 8080", &format!("port: {port}"));
    if let Some(jwks) = jwks {
        let policies = format!(
            "            policies:
              - type: jwt-authn
                jwt:
                  issuer: {ISSUER}
                  audiences: [{AUDIENCE}]
                  jwksUri: http://{jwks}/jwks.json
              - type: mcp-authz
                mcp:
                  rules:
                    - principal: {PRINCIPAL}
                      allowedTools: [get_weather_data, generate_analysis_code, execute_code]
"
        );
        text = text.replace(
            "            backends:\n",
            &format!("{policies}            backends:\n"),
        );
    }
    let mut config = config::load_str(&text, "examples/quickstart.yaml")
        .expect("the bundled quickstart config is valid")
        .config;
    // The example's registry pins the sample tools for `registry verify` in CI; the quickstart serves
    // the binary's own built-in tools from wherever it runs, with no lock beside it.
    config.registry = None;
    config
}

/// A signing key made now; tokens it signs die with the process.
pub struct Issuer {
    seed: [u8; 32],
    public: [u8; 32],
}

impl Issuer {
    pub fn generate() -> Issuer {
        let mut seed = [0u8; 32];
        getrandom::getrandom(&mut seed).expect("operating system random source");
        let public = ed25519_dalek::SigningKey::from_bytes(&seed)
            .verifying_key()
            .to_bytes();
        Issuer { seed, public }
    }

    pub fn jwks(&self) -> serde_json::Value {
        json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig", "kid": "quickstart", "x": URL_SAFE_NO_PAD.encode(self.public)}]})
    }

    /// A token for `subject`, valid for an hour.
    pub fn token(&self, subject: &str) -> String {
        // PKCS#8 v1 wrapping of an Ed25519 seed: a fixed 16-byte prefix, then the 32 bytes.
        let mut der = hex_prefix();
        der.extend_from_slice(&self.seed);
        let key = jsonwebtoken::EncodingKey::from_ed_der(&der);
        let now = crate::mcp::server::session::now();
        let claims = json!({"iss": ISSUER, "sub": subject, "aud": [AUDIENCE], "iat": now, "exp": now + 3600});
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA);
        header.kid = Some("quickstart".into());
        jsonwebtoken::encode(&header, &claims, &key).expect("signing with a valid key")
    }

    /// Serves the JWKS on a loopback port until the process ends.
    pub async fn serve_jwks(&self) -> std::io::Result<SocketAddr> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let body = Bytes::from(self.jwks().to_string());
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let body = body.clone();
                let service = service_fn(move |_request| {
                    let body = body.clone();
                    async move {
                        Ok::<_, std::convert::Infallible>(
                            hyper::Response::builder()
                                .header("content-type", "application/json")
                                .body(Full::new(body))
                                .expect("static response"),
                        )
                    }
                });
                tokio::spawn(http1::Builder::new().serve_connection(TokioIo::new(stream), service));
            }
        });
        Ok(address)
    }
}

fn hex_prefix() -> Vec<u8> {
    vec![
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ]
}

/// What the quickstart prints once it listens.
pub fn instructions(port: u16, token: Option<&str>) -> String {
    let auth = token.map_or(String::new(), |t| {
        format!(" \\\n    -H 'Authorization: Bearer {t}'")
    });
    let mut text = format!(
        r#"
Agent Gateway is running on http://127.0.0.1:{port}/mcp with the built-in sample upstream.

List the tools:
  curl -s http://127.0.0.1:{port}/mcp -H 'Content-Type: application/json'{auth} \
    -d '{{"jsonrpc":"2.0","id":1,"method":"tools/list"}}'

Call one (the user's guide, step 6.2):
  curl -s http://127.0.0.1:{port}/mcp -H 'Content-Type: application/json'{auth} \
    -d '{{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{{"name":"get_weather_data","arguments":{{"city":"Tampa, FL"}}}}}}'
"#
    );
    if token.is_some() {
        text.push_str(&format!(
            "\nAuthentication is on: the token above is {PRINCIPAL}'s (valid for an hour), which may call three of the six\n\
             tools; tools/list shows just those. Without the header the gateway answers 401.\n"
        ));
    }
    text.push_str(&format!(
        "\nUpstream health: http://127.0.0.1:{port}/health/upstreams   Stop: Ctrl-C\n"
    ));
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_issuers_tokens_verify_against_its_jwks() {
        let issuer = Issuer::generate();
        let token = issuer.token(PRINCIPAL);
        let jwk: jsonwebtoken::jwk::Jwk =
            serde_json::from_value(issuer.jwks()["keys"][0].clone()).unwrap();
        let key = jsonwebtoken::DecodingKey::from_jwk(&jwk).unwrap();
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::EdDSA);
        validation.set_audience(&[AUDIENCE]);
        validation.set_issuer(&[ISSUER]);
        let data = jsonwebtoken::decode::<serde_json::Value>(&token, &key, &validation).unwrap();
        assert_eq!(data.claims["sub"], PRINCIPAL);
    }

    #[test]
    fn the_auth_config_is_valid_and_guarded() {
        let c = config(0, Some("127.0.0.1:1".parse().unwrap()));
        let route = &c.binds[0].listeners[0].routes[0];
        let kinds: Vec<&str> = route.policies.iter().map(|p| p.kind.type_name()).collect();
        assert_eq!(kinds, ["jwt-authn", "mcp-authz"]);
        assert!(
            config(0, None).binds[0].listeners[0].routes[0]
                .policies
                .is_empty()
        );
    }
}
