//! Who a verified client certificate names: its SPIFFE URI SAN or subject CN, read with `x509-parser`.

use x509_parser::asn1_rs::{Any, BmpString, Class, Tag, ToDer, UniversalString};
use x509_parser::prelude::{FromDer, GeneralName, ParsedExtension, X509Certificate, X509Name};

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
    let (_, cert) = X509Certificate::from_der(cert)
        .map_err(|_| "the client certificate could not be parsed")?;
    let spiffe: Vec<&str> = uris(&cert)?
        .into_iter()
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
    let common_name = cert
        .subject()
        .iter_common_name()
        .filter_map(|a| string_value(a.attr_value()))
        .last()
        .filter(|cn| !cn.is_empty());
    let principal = spiffe_id
        .clone()
        .or(common_name)
        .ok_or("the client certificate has neither a spiffe:// URI SAN nor a subject CN to use as the principal")?;
    Ok(PeerIdentity {
        principal,
        spiffe_id,
        subject: rfc4514(cert.subject()),
    })
}

/// Every `uniformResourceIdentifier` of the subjectAltName extension, in order. A SAN extension that does
/// not parse, or a URI that is not ASCII (IA5String), refuses the certificate: a name we cannot read is
/// not one we may ignore.
fn uris<'a>(cert: &X509Certificate<'a>) -> Result<Vec<&'a str>, String> {
    let unreadable = "the client certificate's subjectAltName could not be parsed";
    let mut out = Vec::new();
    for extension in cert.extensions() {
        match extension.parsed_extension() {
            ParsedExtension::SubjectAlternativeName(san) => {
                for name in &san.general_names {
                    if let GeneralName::URI(uri) = name {
                        if !uri.is_ascii() {
                            return Err(unreadable.into());
                        }
                        out.push(*uri);
                    }
                }
            }
            ParsedExtension::ParseError { .. }
                if extension.oid == x509_parser::oid_registry::OID_X509_EXT_SUBJECT_ALT_NAME =>
            {
                return Err(unreadable.into());
            }
            _ => {}
        }
    }
    Ok(out)
}

/// The text of a directory string, for the string types certificates use; `None` for anything else.
fn string_value(value: &Any<'_>) -> Option<String> {
    if value.class() != Class::Universal {
        return None;
    }
    match value.tag() {
        Tag::Utf8String
        | Tag::PrintableString
        | Tag::Ia5String
        | Tag::NumericString
        | Tag::VisibleString => std::str::from_utf8(value.data).ok().map(str::to_string),
        // TeletexString: in practice Latin-1.
        Tag::TeletexString => Some(value.data.iter().map(|&b| b as char).collect()),
        // UTF-16BE; an odd length is not a string.
        Tag::BmpString if value.data.len().is_multiple_of(2) => {
            BmpString::try_from(value).ok().map(|s| s.string())
        }
        // UTF-32BE.
        Tag::UniversalString => UniversalString::try_from(value.clone())
            .ok()
            .map(|s| s.string()),
        _ => None,
    }
}

/// RFC 4514 string form: RDNs in reverse of their encoded order, `+` within a multi-valued RDN.
fn rfc4514(name: &X509Name<'_>) -> String {
    let rdns: Vec<_> = name.iter().collect();
    rdns.iter()
        .rev()
        .map(|rdn| {
            rdn.iter()
                .map(|a| {
                    let value = match string_value(a.attr_value()) {
                        Some(s) => escape(&s),
                        // Non-string values are written as `#` and the hex of their encoding (§2.4).
                        None => {
                            format!("#{}", hex(&a.attr_value().to_der_vec().unwrap_or_default()))
                        }
                    };
                    format!("{}={value}", attribute_name(&a.attr_type().to_id_string()))
                })
                .collect::<Vec<_>>()
                .join("+")
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn attribute_name(oid: &str) -> String {
    let short = match oid {
        "2.5.4.3" => "CN",
        "2.5.4.6" => "C",
        "2.5.4.7" => "L",
        "2.5.4.8" => "ST",
        "2.5.4.9" => "STREET",
        "2.5.4.10" => "O",
        "2.5.4.11" => "OU",
        "0.9.2342.19200300.100.1.1" => "UID",
        "0.9.2342.19200300.100.1.25" => "DC",
        _ => oid,
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
    fn garbage_is_not_a_certificate() {
        assert!(identity_of(&[]).is_err());
        assert!(identity_of(&[0x30, 0x03, 0x30, 0x01, 0x02]).is_err());
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
