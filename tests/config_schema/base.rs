//! The base document that the invalid-document and default checks edit: valid for the schema and the decoder.

use crate::validate::check_gateway_text;

pub(crate) const BASE: &str = r#"binds:
  - port: 8080
    listeners:
      - name: l
        routes:
          - name: r
            match: {path: {prefix: /mcp}}
            policies:
              - type: timeout
                timeout: {request: 30s}
              - type: retry
                retry: {attempts: 2, retryOn: [5xx]}
            backends:
              - name: up
                type: mcp-http
                address: "http://up:8000"
                mcp: {endpoint: /mcp}
security: {sessionTtl: 1h}
rateLimitStore: {redis: "redis://r:6379", failMode: failOpen}
"#;

#[test]
fn the_base_document_is_valid_for_both() {
    check_gateway_text(BASE, "base");
}
