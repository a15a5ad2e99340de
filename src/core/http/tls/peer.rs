//! Who a verified client certificate names.

use super::der;

const SPIFFE: &str = "spiffe://";

/// The identity in a client certificate that passed verification against the configured CA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerIdentity {
    /// What policies match on: the SPIFFE ID when there is one, otherwise the subject CN.
    pub principal: String,
    /// The `spiffe://…` URI SAN, when the certificate is an X.509-SVID.
    pub spiffe_id: Option<String>,
    /// The subject as an RFC 4514 string, e.g. `CN=weather-agent,O=Example` (most specific RDN first).
    pub subject: String,
}

/// Reads the identity from a DER certificate (the leaf the client presented).
///
/// A certificate that names nobody usable is refused rather than treated as anonymous: the client did
/// present credentials, so silently dropping them would hide a misissued certificate.
pub fn identity_of(cert: &[u8]) -> Result<PeerIdentity, String> {
    let fields = der::cert_fields(cert).ok_or("the client certificate could not be parsed")?;
    let rdns =
        der::rdns(fields.subject).ok_or("the client certificate's subject could not be parsed")?;
    let spiffe: Vec<&str> = fields
        .uris
        .iter()
        .copied()
        .filter(|u| {
            u.len() > SPIFFE.len()
                && u.get(..SPIFFE.len())
                    .is_some_and(|p| p.eq_ignore_ascii_case(SPIFFE))
        })
        .collect();
    // An X.509-SVID carries exactly one SPIFFE ID (SPIFFE X.509-SVID §2); two would make the principal
    // depend on the order the issuer wrote them in.
    let spiffe_id = match spiffe.as_slice() {
        [] => None,
        [one] => Some(one.to_string()),
        _ => {
            return Err(format!(
                "the client certificate has {} spiffe:// URI SANs; an SVID has exactly one",
                spiffe.len()
            ));
        }
    };
    // With several CNs the last (most specific) one names the client, as in RFC 4514 order.
    let common_name = rdns
        .iter()
        .flatten()
        .filter(|a| a.oid == der::OID_COMMON_NAME)
        .filter_map(|a| der::string_value(&a.value))
        .next_back()
        .filter(|cn| !cn.is_empty());
    let principal = spiffe_id
        .clone()
        .or(common_name)
        .ok_or("the client certificate has neither a spiffe:// URI SAN nor a subject CN to use as the principal")?;
    Ok(PeerIdentity {
        principal,
        spiffe_id,
        subject: rfc4514(&rdns),
    })
}

/// RFC 4514 string form: RDNs in reverse of their encoded order, `+` within a multi-valued RDN.
fn rfc4514(rdns: &[Vec<der::Attribute<'_>>]) -> String {
    rdns.iter()
        .rev()
        .map(|rdn| {
            rdn.iter()
                .map(|a| {
                    let value = match der::string_value(&a.value) {
                        Some(s) => escape(&s),
                        // Non-string values are written as `#` and the hex of their encoding (§2.4).
                        None => format!("#{}", hex(a.value.encoded)),
                    };
                    format!("{}={value}", attribute_name(a.oid))
                })
                .collect::<Vec<_>>()
                .join("+")
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn attribute_name(oid: &[u8]) -> String {
    let text = der::oid_text(oid);
    let short = match text.as_str() {
        "2.5.4.3" => "CN",
        "2.5.4.6" => "C",
        "2.5.4.7" => "L",
        "2.5.4.8" => "ST",
        "2.5.4.9" => "STREET",
        "2.5.4.10" => "O",
        "2.5.4.11" => "OU",
        "0.9.2342.19200300.100.1.1" => "UID",
        "0.9.2342.19200300.100.1.25" => "DC",
        _ => return text,
    };
    short.to_string()
}

/// Escapes an attribute value as RFC 4514 §2.4 requires.
fn escape(value: &str) -> String {
    let last = value.chars().count().saturating_sub(1);
    let mut out = String::with_capacity(value.len());
    for (i, c) in value.chars().enumerate() {
        match c {
            '"' | '+' | ',' | ';' | '<' | '>' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '#' if i == 0 => out.push_str("\\#"),
            ' ' if i == 0 || i == last => out.push_str("\\ "),
            '\0' => out.push_str("\\00"),
            _ => out.push(c),
        }
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_special_characters() {
        assert_eq!(escape("a,b+c"), "a\\,b\\+c");
        assert_eq!(escape("#x "), "\\#x\\ ");
        assert_eq!(escape(" lead"), "\\ lead");
        assert_eq!(escape("plain-name"), "plain-name");
    }

    #[test]
    fn renders_the_subject_most_specific_first_with_escapes() {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(rcgen::DnType::CountryName, "US");
        params.distinguished_name.push(
            rcgen::DnType::OrganizationName,
            rcgen::DnValue::BmpString("Ägents, Inc.".try_into().unwrap()),
        );
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "weather+agent");
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        let id = identity_of(cert.der()).unwrap();
        assert_eq!(id.subject, "CN=weather\\+agent,O=Ägents\\, Inc.,C=US");
        // The principal is the value itself, not its escaped form.
        assert_eq!(id.principal, "weather+agent");
    }
}
