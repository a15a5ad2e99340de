//! `claimToHeaders`: claims of the verified identity, copied into headers toward the upstream.

use http::{HeaderName, HeaderValue};
use serde_json::Value;

use crate::config::ClaimToHeader;

/// Headers a claim may not set: they carry the transport or the caller's credential.
const RESERVED: &[&str] = &[
    "authorization",
    "host",
    "content-length",
    "content-type",
    "transfer-encoding",
    "connection",
    "te",
    "upgrade",
    "mcp-session-id",
    "mcp-protocol-version",
];

pub struct ClaimHeaders {
    rules: Vec<(String, HeaderName)>,
}

impl ClaimHeaders {
    pub fn new(rules: &[ClaimToHeader]) -> Result<ClaimHeaders, String> {
        let mut out = Vec::with_capacity(rules.len());
        for r in rules {
            let name = HeaderName::from_bytes(r.header.trim().to_ascii_lowercase().as_bytes())
                .map_err(|_| format!("claimToHeaders: \"{}\" is not a header name", r.header))?;
            if RESERVED.contains(&name.as_str()) {
                return Err(format!(
                    "claimToHeaders: header \"{name}\" is reserved and cannot carry a claim"
                ));
            }
            out.push((r.claim.clone(), name));
        }
        Ok(ClaimHeaders { rules: out })
    }

    pub fn names(&self) -> Vec<HeaderName> {
        self.rules.iter().map(|(_, n)| n.clone()).collect()
    }

    /// One header per rule whose claim is present and renders to a valid header value; others are skipped
    /// (an absent header is safer than a guessed one, and client copies are stripped either way).
    pub fn of(&self, claims: &Value) -> Vec<(HeaderName, HeaderValue)> {
        self.rules
            .iter()
            .filter_map(|(claim, name)| {
                let text = render(lookup(claims, claim)?)?;
                Some((name.clone(), HeaderValue::from_str(&text).ok()?))
            })
            .collect()
    }
}

/// A claim by name; a dotted name also reaches into objects. Keys may contain dots themselves (Kubernetes puts
/// its claims under `kubernetes.io`), so the longest key that matches is taken at each level:
/// `kubernetes.io.namespace` is `claims["kubernetes.io"]["namespace"]`.
fn lookup<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    let obj = value.as_object()?;
    if let Some(v) = obj.get(path) {
        return Some(v);
    }
    let dots: Vec<usize> = path.match_indices('.').map(|(i, _)| i).collect();
    dots.iter()
        .rev()
        .find_map(|&i| lookup(obj.get(&path[..i])?, &path[i + 1..]))
}

fn render(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Array(items) => {
            let parts: Option<Vec<String>> = items.iter().map(render).collect();
            Some(parts?.join(","))
        }
        Value::Object(_) => Some(v.to_string()),
        Value::Null => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rule(claim: &str, header: &str) -> ClaimToHeader {
        ClaimToHeader {
            claim: claim.into(),
            header: header.into(),
        }
    }

    #[test]
    fn claims_render_into_headers() {
        let h = ClaimHeaders::new(&[
            rule("sub", "X-Agent-Identity"),
            rule("kubernetes.io.namespace", "x-ns"),
            rule("kubernetes.io.serviceaccount.name", "x-sa"),
            rule("aud", "x-aud"),
            rule("missing", "x-missing"),
            rule("evil", "x-evil"),
        ])
        .unwrap();
        let claims = json!({"sub": "system:serviceaccount:ns:sa", "aud": ["a", "b"], "evil": "a\r\nb",
            "kubernetes.io": {"namespace": "ns", "serviceaccount": {"name": "sa", "uid": "u"}}});
        let got: Vec<(String, String)> = h
            .of(&claims)
            .into_iter()
            .map(|(n, v)| (n.to_string(), v.to_str().unwrap().to_string()))
            .collect();
        let want = [
            ("x-agent-identity", "system:serviceaccount:ns:sa"),
            ("x-ns", "ns"),
            ("x-sa", "sa"),
            ("x-aud", "a,b"),
        ];
        assert_eq!(
            got,
            want.map(|(a, b)| (a.to_string(), b.to_string())).to_vec()
        );
    }

    #[test]
    fn reserved_and_invalid_names_are_refused() {
        assert!(ClaimHeaders::new(&[rule("sub", "Authorization")]).is_err());
        assert!(ClaimHeaders::new(&[rule("sub", "bad header")]).is_err());
    }
}
