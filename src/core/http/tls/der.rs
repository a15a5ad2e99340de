//! Just enough DER to read a client certificate's subject and URI SANs.
//!
//! The certificate has already been verified by webpki during the handshake, so this only has to *read*
//! a well-formed certificate; it still never panics on bad input, it answers `None`. A hand-written reader
//! keeps a full X.509 parser out of the production dependencies for two fields.

/// Tags used below (universal class unless noted).
const BOOLEAN: u8 = 0x01;
const OCTET_STRING: u8 = 0x04;
const OID: u8 = 0x06;
const SEQUENCE: u8 = 0x30;
const SET: u8 = 0x31;
/// `[0] EXPLICIT Version` in TBSCertificate.
const VERSION: u8 = 0xa0;
/// `[3] EXPLICIT Extensions` in TBSCertificate.
const EXTENSIONS: u8 = 0xa3;
/// `uniformResourceIdentifier [6] IA5String` in GeneralName (implicit, primitive).
const GENERAL_NAME_URI: u8 = 0x86;

/// id-ce-subjectAltName, 2.5.29.17.
const OID_SUBJECT_ALT_NAME: &[u8] = &[0x55, 0x1d, 0x11];
/// id-at-commonName, 2.5.4.3.
pub const OID_COMMON_NAME: &[u8] = &[0x55, 0x04, 0x03];

/// One TLV element: its tag, its contents, and its whole encoding (for `#hex` rendering).
#[derive(Clone, Copy)]
pub struct Element<'a> {
    pub tag: u8,
    pub contents: &'a [u8],
    pub encoded: &'a [u8],
}

/// Reads consecutive TLV elements from a byte slice.
pub struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Reader { rest: bytes }
    }

    pub fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    /// The next element, or `None` at the end or on malformed input.
    pub fn next_element(&mut self) -> Option<Element<'a>> {
        let all = self.rest;
        let (&tag, after_tag) = all.split_first()?;
        // High-tag-number form (0x1f) never occurs in the parts of a certificate read here.
        if tag & 0x1f == 0x1f {
            return None;
        }
        let (&first, after_len) = after_tag.split_first()?;
        let (len, body) = if first < 0x80 {
            (first as usize, after_len)
        } else {
            // Long form: DER allows up to 4 length bytes for anything a certificate holds.
            let n = (first & 0x7f) as usize;
            if n == 0 || n > 4 || after_len.len() < n {
                return None;
            }
            let len = after_len[..n]
                .iter()
                .fold(0usize, |acc, &b| (acc << 8) | b as usize);
            (len, &after_len[n..])
        };
        if body.len() < len {
            return None;
        }
        let header = all.len() - body.len();
        self.rest = &body[len..];
        Some(Element {
            tag,
            contents: &body[..len],
            encoded: &all[..header + len],
        })
    }

    /// The next element if it has `tag`; otherwise `None` and nothing is consumed.
    pub fn optional(&mut self, tag: u8) -> Option<Element<'a>> {
        let saved = self.rest;
        match self.next_element() {
            Some(e) if e.tag == tag => Some(e),
            _ => {
                self.rest = saved;
                None
            }
        }
    }

    /// The next element, which must have `tag`.
    pub fn expect(&mut self, tag: u8) -> Option<&'a [u8]> {
        self.next_element()
            .filter(|e| e.tag == tag)
            .map(|e| e.contents)
    }
}

/// The parts of a certificate the gateway reads.
pub struct CertFields<'a> {
    /// Contents of the subject `Name` (an RDNSequence).
    pub subject: &'a [u8],
    /// Every `uniformResourceIdentifier` in the subjectAltName extension, in order.
    pub uris: Vec<&'a str>,
}

/// Walks `Certificate → TBSCertificate` to the subject and the extensions (RFC 5280 §4.1).
pub fn cert_fields(der: &[u8]) -> Option<CertFields<'_>> {
    let cert = Reader::new(der).expect(SEQUENCE)?;
    let mut tbs = Reader::new(Reader::new(cert).expect(SEQUENCE)?);
    tbs.optional(VERSION);
    tbs.next_element()?; // serialNumber
    tbs.expect(SEQUENCE)?; // signature
    tbs.expect(SEQUENCE)?; // issuer
    tbs.expect(SEQUENCE)?; // validity
    let subject = tbs.expect(SEQUENCE)?;
    tbs.expect(SEQUENCE)?; // subjectPublicKeyInfo
    let mut uris = Vec::new();
    // What follows is issuerUniqueID [1], subjectUniqueID [2] and extensions [3], each optional.
    while let Some(e) = tbs.next_element() {
        if e.tag == EXTENSIONS {
            uris = san_uris(e.contents)?;
        }
    }
    Some(CertFields { subject, uris })
}

fn san_uris(extensions: &[u8]) -> Option<Vec<&str>> {
    let mut list = Reader::new(Reader::new(extensions).expect(SEQUENCE)?);
    let mut uris = Vec::new();
    while !list.is_empty() {
        let mut ext = Reader::new(list.expect(SEQUENCE)?);
        let oid = ext.expect(OID)?;
        ext.optional(BOOLEAN); // critical
        let value = ext.expect(OCTET_STRING)?;
        if oid != OID_SUBJECT_ALT_NAME {
            continue;
        }
        let mut names = Reader::new(Reader::new(value).expect(SEQUENCE)?);
        while let Some(name) = names.next_element() {
            if name.tag == GENERAL_NAME_URI {
                // IA5String: ASCII only; anything else is not a usable identity.
                uris.push(
                    std::str::from_utf8(name.contents)
                        .ok()
                        .filter(|s| s.is_ascii())?,
                );
            }
        }
    }
    Some(uris)
}

/// One attribute of a distinguished name.
pub struct Attribute<'a> {
    pub oid: &'a [u8],
    pub value: Element<'a>,
}

/// The RDNs of a `Name`, in encoded order; each RDN is a set of one or more attributes.
pub fn rdns(name: &[u8]) -> Option<Vec<Vec<Attribute<'_>>>> {
    let mut seq = Reader::new(name);
    let mut out = Vec::new();
    while !seq.is_empty() {
        let mut set = Reader::new(seq.expect(SET)?);
        let mut rdn = Vec::new();
        while !set.is_empty() {
            let mut atv = Reader::new(set.expect(SEQUENCE)?);
            let oid = atv.expect(OID)?;
            let value = atv.next_element()?;
            rdn.push(Attribute { oid, value });
        }
        out.push(rdn);
    }
    Some(out)
}

/// The text of a directory string, for the string types certificates use.
pub fn string_value(e: &Element<'_>) -> Option<String> {
    match e.tag {
        // UTF8String, PrintableString, IA5String, NumericString, VisibleString.
        0x0c | 0x13 | 0x16 | 0x12 | 0x1a => {
            std::str::from_utf8(e.contents).ok().map(str::to_string)
        }
        // TeletexString: in practice Latin-1.
        0x14 => Some(e.contents.iter().map(|&b| b as char).collect()),
        // BMPString: UTF-16BE.
        0x1e if e.contents.len().is_multiple_of(2) => {
            let units = e
                .contents
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]));
            char::decode_utf16(units)
                .collect::<Result<String, _>>()
                .ok()
        }
        // UniversalString: UTF-32BE.
        0x1c if e.contents.len().is_multiple_of(4) => e
            .contents
            .chunks_exact(4)
            .map(|c| char::from_u32(u32::from_be_bytes([c[0], c[1], c[2], c[3]])))
            .collect(),
        _ => None,
    }
}

/// Dotted form of an OID's contents, e.g. `2.5.4.3`.
pub fn oid_text(oid: &[u8]) -> String {
    let mut arcs: Vec<u64> = Vec::new();
    let mut acc: u64 = 0;
    for &b in oid {
        acc = (acc << 7) | u64::from(b & 0x7f);
        if b & 0x80 == 0 {
            if arcs.is_empty() {
                // The first subidentifier packs the first two arcs (X.690 §8.19.4).
                let first = (acc / 40).min(2);
                arcs.push(first);
                arcs.push(acc - first * 40);
            } else {
                arcs.push(acc);
            }
            acc = 0;
        }
    }
    arcs.iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(".")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_short_and_long_lengths() {
        let mut long = vec![0x04, 0x81, 0x80];
        long.extend([7u8; 0x80]);
        let mut r = Reader::new(&long);
        let e = r.next_element().unwrap();
        assert_eq!(
            (e.tag, e.contents.len(), e.encoded.len()),
            (0x04, 0x80, 0x83)
        );
        assert!(r.is_empty());
        // Truncated or oversized lengths are refused, not read past the end.
        assert!(Reader::new(&[0x04, 0x05, 1, 2]).next_element().is_none());
        assert!(
            Reader::new(&[0x04, 0x85, 1, 1, 1, 1, 1])
                .next_element()
                .is_none()
        );
        assert!(Reader::new(&[0x1f, 0x01, 0x00]).next_element().is_none());
    }

    #[test]
    fn oid_texts() {
        assert_eq!(oid_text(OID_COMMON_NAME), "2.5.4.3");
        // 1.2.840.113549.1.9.1 (emailAddress) has multi-byte arcs.
        assert_eq!(
            oid_text(&[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x01]),
            "1.2.840.113549.1.9.1"
        );
    }

    #[test]
    fn garbage_is_not_a_certificate() {
        assert!(cert_fields(&[]).is_none());
        assert!(cert_fields(&[0x30, 0x03, 0x30, 0x01, 0x02]).is_none());
    }
}
