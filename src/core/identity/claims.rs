//! The registered claims of a verified token: time window, issuer, audience, subject.

use serde_json::Value;

use super::error::AuthError;

pub struct ClaimRules<'a> {
    pub issuer: &'a str,
    pub audiences: &'a [String],
    pub leeway: i64,
}

/// What the checks leave us: who it is and until when the answer holds.
pub struct Checked {
    pub principal: String,
    pub exp: i64,
}

/// Checks `claims` at time `now` (seconds since the epoch). `exp` is required: an unbounded token could not be
/// cached, and Kubernetes never issues one.
pub fn check(claims: &Value, rules: &ClaimRules, now: i64) -> Result<Checked, AuthError> {
    let exp = numeric_date(claims, "exp")?.ok_or(AuthError::MissingClaim("exp"))?;
    if now > exp.saturating_add(rules.leeway) {
        return Err(AuthError::Expired { exp });
    }
    if let Some(nbf) = numeric_date(claims, "nbf")?
        && now.saturating_add(rules.leeway) < nbf
    {
        return Err(AuthError::NotYetValid { nbf });
    }
    if let Some(iat) = numeric_date(claims, "iat")?
        && now.saturating_add(rules.leeway) < iat
    {
        return Err(AuthError::IssuedInFuture { iat });
    }
    // Exact comparison: RFC 7519 says issuers are case-sensitive, and a trailing slash is a different issuer.
    let issuer = claims
        .get("iss")
        .and_then(Value::as_str)
        .ok_or(AuthError::MissingClaim("iss"))?;
    if issuer != rules.issuer {
        return Err(AuthError::WrongIssuer {
            found: issuer.to_string(),
        });
    }
    let found = audiences(claims);
    if !found.iter().any(|a| rules.audiences.contains(a)) {
        return Err(AuthError::WrongAudience { found });
    }
    let principal = claims
        .get("sub")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or(AuthError::MissingClaim("sub"))?;
    Ok(Checked {
        principal: principal.to_string(),
        exp,
    })
}

/// `aud` is a string or an array of strings (RFC 7519 4.1.3).
fn audiences(claims: &Value) -> Vec<String> {
    match claims.get("aud") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

/// A NumericDate may carry fractions of a second; anything else that is present is malformed.
fn numeric_date(claims: &Value, name: &'static str) -> Result<Option<i64>, AuthError> {
    match claims.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_i64()
            .or_else(|| v.as_f64().filter(|f| f.is_finite()).map(|f| f as i64))
            .map(Some)
            .ok_or_else(|| AuthError::Malformed(format!("\"{name}\" is not a number"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: i64 = 1_800_000_000;

    fn rules(aud: &[String]) -> ClaimRules<'_> {
        ClaimRules {
            issuer: "https://kubernetes.default.svc",
            audiences: aud,
            leeway: 30,
        }
    }

    fn claims(extra: Value) -> Value {
        let mut c = json!({"iss": "https://kubernetes.default.svc", "aud": ["x", "agent-gateway"],
                           "sub": "system:serviceaccount:ns:sa", "exp": NOW + 600, "iat": NOW});
        c.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        c
    }

    #[test]
    fn leeway_applies_on_both_sides() {
        let aud = vec!["agent-gateway".to_string()];
        let r = rules(&aud);
        assert!(check(&claims(json!({"exp": NOW - 29})), &r, NOW).is_ok());
        assert_eq!(
            check(&claims(json!({"exp": NOW - 31})), &r, NOW).err(),
            Some(AuthError::Expired { exp: NOW - 31 })
        );
        assert!(check(&claims(json!({"nbf": NOW + 29})), &r, NOW).is_ok());
        assert_eq!(
            check(&claims(json!({"nbf": NOW + 31})), &r, NOW).err(),
            Some(AuthError::NotYetValid { nbf: NOW + 31 })
        );
        assert_eq!(
            check(&claims(json!({"iat": NOW + 31})), &r, NOW).err(),
            Some(AuthError::IssuedInFuture { iat: NOW + 31 })
        );
    }

    #[test]
    fn issuer_is_exact_and_audience_intersects() {
        let aud = vec!["agent-gateway".to_string()];
        let r = rules(&aud);
        let ok = check(&claims(json!({})), &r, NOW).unwrap();
        assert_eq!(ok.principal, "system:serviceaccount:ns:sa");
        assert_eq!(
            check(
                &claims(json!({"iss": "https://kubernetes.default.svc/"})),
                &r,
                NOW
            )
            .err(),
            Some(AuthError::WrongIssuer {
                found: "https://kubernetes.default.svc/".into()
            })
        );
        assert_eq!(
            check(
                &claims(json!({"aud": "https://kubernetes.default.svc"})),
                &r,
                NOW
            )
            .err(),
            Some(AuthError::WrongAudience {
                found: vec!["https://kubernetes.default.svc".into()]
            })
        );
        assert_eq!(
            check(&claims(json!({"exp": "soon"})), &r, NOW).err(),
            Some(AuthError::Malformed("\"exp\" is not a number".into()))
        );
        assert_eq!(
            check(&claims(json!({"exp": null})), &r, NOW).err(),
            Some(AuthError::MissingClaim("exp"))
        );
    }
}
