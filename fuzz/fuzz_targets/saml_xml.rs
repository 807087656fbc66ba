//! SAML federation's XML, through the real router in-process: the metadata documents
//! CreateSAMLProvider reads (`parse_metadata`, quick-xml) and the responses
//! AssumeRoleWithSAML verifies (xml-sec's parser, signature verification and decryption,
//! the response's shape, the assertion's reading, then the time, audience, recipient,
//! attribute and trust-policy checks), with a fixed clock (2026-01-01T00:00:00Z) and two
//! fixed providers: `FuzzIdP` (the metadata's signing certificates are the harness's ECDSA
//! P-256 and RSA keys) and `FuzzIdPEnc` (the same, with a service-provider private key, so
//! `EncryptedAssertion`s reach decryption).
//!
//! Responses get deep because the harness signs them itself, after the fuzzer has shaped
//! them: a marker comment `<!--SIGN:ID-->` (or `<!--SIGN-RSA:ID-->`) is replaced with a
//! signature over the element with that `ID`, made with the provider's key; edits after
//! signing (insertions, replacements, deletions) then test that tampering is refused.
//!
//! Inputs: text with a header line, so that seeds can be written by hand and byte-level
//! mutations reach the parsers directly:
//! - `metadata\n<document>`: CreateSAMLProvider of the existing `FuzzIdP` (the metadata is
//!   parsed before the name is found taken, so nothing is written);
//! - `response\n<xml>` / `response-enc\n<xml>`: AssumeRoleWithSAML with the markers signed,
//!   to `FuzzIdP` / `FuzzIdPEnc`;
//! - `assertion\n<text>`: the `SAMLAssertion` parameter as is (not base64-encoded here);
//!
//! and anything else is a structured input (`arbitrary`): a metadata document or response
//! assembled from SAML fragments (real certificates, namespaces, dates around the clock,
//! AWS's attributes, role pairs) and raw fuzzer strings.
//!
//! Invariants: every answer carries `x-amzn-RequestId` and is an XML `…Response` or
//! `ErrorResponse` with a code and a request id; none is `InternalFailure` (a panic on the
//! request's path) or another 5xx; a metadata document is either parsed (the name is then
//! taken: `EntityAlreadyExists`) or refused as `InvalidInput`/a model violation; a response
//! the harness did not sign is never accepted.
#![no_main]

use std::sync::OnceLock;

use arbitrary::{Arbitrary, Unstructured};
use axum::body::Body;
use axum::http::{Method, Request};
use axum::Router;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use libfuzzer_sys::fuzz_target;
use tower::ServiceExt;
use xml_sec::c14n::{C14nAlgorithm, C14nMode};
use xml_sec::xmldsig::{
    DigestAlgorithm, EcdsaP256SigningKey, ReferenceBuilder, RsaSigningKey, SignContext, SignatureAlgorithm, SignatureBuilder, SignatureTemplateSelection,
    SigningKey, Transform,
};

#[path = "shared/text.rs"]
mod text;
use text::S;

const ACCOUNT: &str = "123456789012";
const EMAIL: &str = "root@example.com";
/// The fixed clock: 2026-01-01T00:00:00Z.
const NOW: i64 = 1_767_225_600;
const ENTITY: &str = "https://idp.fuzz.example/saml";
const PROVIDER: &str = "arn:aws:iam::123456789012:saml-provider/FuzzIdP";
const PROVIDER_ENC: &str = "arn:aws:iam::123456789012:saml-provider/FuzzIdPEnc";
const ROLE: &str = "arn:aws:iam::123456789012:role/FuzzSaml";

const EC_KEY: &str = include_str!("shared/saml/idp-ec-key.pem");
const EC_CERT: &str = include_str!("shared/saml/idp-ec-cert.pem");
const RSA_KEY: &str = include_str!("shared/saml/idp-rsa-key.pem");
const RSA_CERT: &str = include_str!("shared/saml/idp-rsa-cert.pem");
const SP_KEY: &str = include_str!("shared/saml/sp-rsa-key.pem");

const MD: &str = "urn:oasis:names:tc:SAML:2.0:metadata";
const DS: &str = "http://www.w3.org/2000/09/xmldsig#";
const SAMLP: &str = "urn:oasis:names:tc:SAML:2.0:protocol";
const SAML: &str = "urn:oasis:names:tc:SAML:2.0:assertion";

/// A certificate's base64 body (the PEM without its armour), with or without line breaks.
fn cert_body(pem: &str, breaks: bool) -> String {
    let lines = pem.lines().filter(|l| !l.starts_with("-----"));
    if breaks {
        lines.collect::<Vec<_>>().join("\n")
    } else {
        lines.collect()
    }
}

/// The fragment tables, built once (some hold the certificates).
struct Tables {
    certs: Vec<String>,
    /// The metadata both providers are created with (signing certificates of both keys).
    metadata: String,
}

fn tables() -> &'static Tables {
    static T: OnceLock<Tables> = OnceLock::new();
    T.get_or_init(|| {
        let ec = cert_body(EC_CERT, false);
        let rsa = cert_body(RSA_CERT, true);
        let certs = vec![
            ec.clone(),
            rsa.clone(),
            format!("\n   {}\n  ", cert_body(RSA_CERT, true)),
            ec[..ec.len() / 2].to_owned(),
            String::new(),
            "AAAA".to_owned(),
            "MIIB!!".to_owned(),
            ec.replace('A', "&#65;"),
            format!("{ec}=="),
        ];
        let key = |cert: &str| {
            format!(r#"<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"#)
        };
        let metadata = format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><md:EntityDescriptor xmlns:md="{MD}" xmlns:ds="{DS}" entityID="{ENTITY}"><md:IDPSSODescriptor protocolSupportEnumeration="{SAMLP}">{}{}<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://idp.fuzz.example/sso"/></md:IDPSSODescriptor></md:EntityDescriptor>"#,
            key(&ec),
            key(&rsa)
        );
        Tables { certs, metadata }
    })
}

const DATES: &[&str] = &[
    "2026-01-01T00:00:00Z",
    "2025-12-31T23:59:00Z",
    "2026-01-01T00:05:00Z",
    "2026-01-01T01:00:00Z",
    "2025-12-31T23:50:00Z",
    "2026-01-01T00:00:30.123Z",
    "2026-01-01T01:00:00+01:00",
    "2026-01-01T00:00:00",
    "9999-12-31T23:59:59Z",
    "0000-01-01T00:00:00Z",
    "2026-13-01T00:00:00Z",
    "2026-01-01T00:00:00+24:00",
    "",
];

const ROOTS: &[&str] = &["md:EntityDescriptor", "EntityDescriptor", "md:EntitiesDescriptor", "md:entitydescriptor", "ds:EntityDescriptor"];
const DESCRIPTORS: &[&str] = &["md:IDPSSODescriptor", "md:SPSSODescriptor", "md:AttributeAuthorityDescriptor", "IDPSSODescriptor", "ds:Signature", "md:Organization"];
const USES: &[&str] = &["signing", "encryption", "", "SIGNING", "signing "];
const ENTITIES: &[&str] = &[ENTITY, "https://other-idp.example/saml", "", "urn:x&amp;y", "a\"b"];
const IDS: &[&str] = &["_a1", "_r1", "_a2", "a b", "1abc", "", "_a1\u{e9}", "x:y"];
const STATUSES: &[&str] = &["urn:oasis:names:tc:SAML:2.0:status:Success", "urn:oasis:names:tc:SAML:2.0:status:Requester", "Success", ""];
const SUBJECTS: &[&str] = &["alice@example.test", "", "  bob  ", "admin@example.test.evil.example", "a&amp;b"];
const FORMATS: &[&str] = &[
    "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
    "urn:oasis:names:tc:SAML:2.0:nameid-format:transient",
    "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
    "urn:oasis:names:tc:SAML:2.0:nameid-format:",
    "",
];
const METHODS: &[&str] = &["urn:oasis:names:tc:SAML:2.0:cm:bearer", "urn:oasis:names:tc:SAML:2.0:cm:holder-of-key", ""];
const RECIPIENTS: &[&str] = &[
    "https://signin.aws.amazon.com/saml",
    "https://eu-west-1.signin.aws.amazon.com/saml",
    "https://.signin.aws.amazon.com/saml",
    "https://EU.signin.aws.amazon.com/saml",
    "urn:amazon:webservices",
    "https://sp.example.com/acs",
    "",
];
const ATTRIBUTE_NAMES: &[&str] = &[
    "https://aws.amazon.com/SAML/Attributes/Role",
    "https://aws.amazon.com/SAML/Attributes/RoleSessionName",
    "https://aws.amazon.com/SAML/Attributes/SessionDuration",
    "https://aws.amazon.com/SAML/Attributes/SourceIdentity",
    "https://aws.amazon.com/SAML/Attributes/PrincipalTag:Department",
    "https://aws.amazon.com/SAML/Attributes/PrincipalTag:department",
    "https://aws.amazon.com/SAML/Attributes/PrincipalTag:",
    "https://aws.amazon.com/SAML/Attributes/TransitiveTagKeys",
    "urn:oid:2.5.4.3",
    "urn:oid:0.9.2342.19200300.100.1.3",
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
    "",
];
const ATTRIBUTE_VALUES: &[&str] = &[
    "arn:aws:iam::123456789012:role/FuzzSaml,arn:aws:iam::123456789012:saml-provider/FuzzIdP",
    "arn:aws:iam::123456789012:saml-provider/FuzzIdP,arn:aws:iam::123456789012:role/FuzzSaml",
    "arn:aws:iam::123456789012:role/FuzzSaml,arn:aws:iam::123456789012:saml-provider/FuzzIdPEnc",
    " arn:aws:iam::123456789012:role/FuzzSaml , arn:aws:iam::123456789012:saml-provider/FuzzIdP ",
    "arn:aws:iam::123456789012:role/FuzzSaml",
    "alice",
    "alice@example.test",
    "bad name!",
    "aws:admin",
    "900",
    "3600",
    "43201",
    "-1",
    "Department",
    "department",
    "Engineering",
    "",
];
const REQUEST_ROLES: &[&str] = &[ROLE, "arn:aws:iam::123456789012:role/Other", "arn:aws:iam::210987654321:role/FuzzSaml", "arn:aws:iam::123456789012:user/FuzzSaml", ""];
const REQUEST_PROVIDERS: &[&str] = &[PROVIDER, PROVIDER_ENC, "arn:aws:iam::123456789012:saml-provider/NoSuch", "arn:aws:iam::210987654321:saml-provider/FuzzIdP", ""];
const DURATIONS: &[&str] = &["900", "3600", "43200", "899", "abc"];
/// Raw XML dropped into the documents: comments, entities, a DOCTYPE, a second assertion,
/// an encrypted assertion's parts, xmlns games.
const XML_BITS: &[&str] = &[
    "<!--x-->",
    "<?pi x?>",
    "<![CDATA[alice]]>",
    "&amp;",
    "&lt;&#x41;&#65;",
    "&undefined;",
    "<saml:Assertion xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" ID=\"_evil\" IssueInstant=\"2026-01-01T00:00:00Z\"><saml:Issuer>https://idp.fuzz.example/saml</saml:Issuer></saml:Assertion>",
    "<saml:EncryptedAssertion xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\"><xenc:EncryptedData xmlns:xenc=\"http://www.w3.org/2001/04/xmlenc#\" Type=\"http://www.w3.org/2001/04/xmlenc#Element\"><xenc:EncryptionMethod Algorithm=\"http://www.w3.org/2009/xmlenc11#aes256-gcm\"/><ds:KeyInfo xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"><xenc:EncryptedKey><xenc:EncryptionMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p\"/><xenc:CipherData><xenc:CipherValue>AAAA</xenc:CipherValue></xenc:CipherData></xenc:EncryptedKey></ds:KeyInfo><xenc:CipherData><xenc:CipherValue>AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA</xenc:CipherValue></xenc:CipherData></xenc:EncryptedData></saml:EncryptedAssertion>",
    "<ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"><ds:SignedInfo><ds:SignatureMethod Algorithm=\"http://www.w3.org/2001/04/xmldsig-more#rsa-sha256\"/></ds:SignedInfo></ds:Signature>",
    "<ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"><ds:SignedInfo><ds:SignatureMethod Algorithm=\"http://www.w3.org/2000/09/xmldsig#rsa-sha1\"/></ds:SignedInfo></ds:Signature>",
    "<saml:Attribute xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" Name=\"https://aws.amazon.com/SAML/Attributes/RoleSessionName\"><saml:AttributeValue>mallory</saml:AttributeValue></saml:Attribute>",
    "<!DOCTYPE r [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">]>",
    "<x xmlns=\"urn:oasis:names:tc:SAML:2.0:assertion\"/>",
    "xmlns:saml=\"urn:x\"",
    "\u{0}",
    "</saml:Assertion>",
];

#[derive(Arbitrary, Debug)]
enum Call {
    Metadata(Metadata),
    Response(Response),
}

/// A metadata document: the root, its entity and validity, descriptors with key
/// descriptors.
#[derive(Arbitrary, Debug)]
struct Metadata {
    root: S,
    entity: S,
    valid_until: Option<S>,
    descriptors: Vec<Descriptor>,
    /// Raw XML before the root's end tag.
    tail: Option<S>,
    declaration: bool,
}

#[derive(Arbitrary, Debug)]
struct Descriptor {
    name: S,
    keys: Vec<KeyDescriptor>,
    extra: Option<S>,
}

#[derive(Arbitrary, Debug)]
struct KeyDescriptor {
    usage: Option<S>,
    cert: S,
    /// 0: KeyInfo/X509Data/X509Certificate; 1: without X509Data; 2: two certificates; 3: the
    /// certificate outside the KeyDescriptor.
    shape: u8,
}

/// A SAML response: the request's parameters, the response and its assertion, which
/// elements the harness signs, and edits after signing.
#[derive(Arbitrary, Debug)]
struct Response {
    role: S,
    provider: S,
    duration: Option<S>,
    response_id: S,
    assertion_id: S,
    issue_instant: S,
    assertion_instant: S,
    status: S,
    issuer: S,
    response_issuer: Option<S>,
    subject: Option<(S, Option<S>)>,
    confirmations: Vec<Confirmation>,
    conditions: Option<Conditions>,
    attributes: Vec<(S, Vec<S>)>,
    /// Raw XML at fixed places: (where, fragment).
    extra: Vec<(u8, S)>,
    /// Bit 0: the assertion is signed; bit 1: the response is; bit 2: with the RSA key;
    /// bit 3: the signature over another element's ID (the other one's).
    sign: u8,
    /// Bit 0: the assertion inside an `EncryptedAssertion` (in clear: refused).
    wrap: u8,
    edits: Vec<Edit>,
}

#[derive(Arbitrary, Debug)]
struct Confirmation {
    method: S,
    recipient: Option<S>,
    not_on_or_after: Option<S>,
    not_before: Option<S>,
}

#[derive(Arbitrary, Debug)]
struct Conditions {
    not_before: Option<S>,
    not_on_or_after: Option<S>,
    audiences: Vec<Vec<S>>,
}

/// A change to the signed document (which must then be refused unless it is outside
/// what the signature covers).
#[derive(Arbitrary, Debug)]
enum Edit {
    Insert(u16, S),
    Replace(S, S),
    Delete(u16, u8),
}

fn attr_value(s: &S) -> String {
    s.get(ATTRIBUTE_VALUES).into_owned()
}

fn metadata_xml(m: &Metadata) -> String {
    let t = tables();
    let root = m.root.get(ROOTS);
    let mut out = String::new();
    if m.declaration {
        out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
    }
    out.push_str(&format!("<{root} xmlns:md=\"{MD}\" xmlns:ds=\"{DS}\" entityID=\"{}\"", m.entity.get(ENTITIES)));
    if let Some(v) = &m.valid_until {
        out.push_str(&format!(" validUntil=\"{}\"", v.get(DATES)));
    }
    out.push('>');
    for d in m.descriptors.iter().take(4) {
        let name = d.name.get(DESCRIPTORS);
        out.push_str(&format!("<{name} protocolSupportEnumeration=\"{SAMLP}\">"));
        for k in d.keys.iter().take(4) {
            let cert = k.cert.get(&t.certs);
            let usage = k.usage.as_ref().map(|u| format!(" use=\"{}\"", u.get(USES))).unwrap_or_default();
            let c = format!("<ds:X509Certificate>{cert}</ds:X509Certificate>");
            match k.shape % 4 {
                0 => out.push_str(&format!("<md:KeyDescriptor{usage}><ds:KeyInfo><ds:X509Data>{c}</ds:X509Data></ds:KeyInfo></md:KeyDescriptor>")),
                1 => out.push_str(&format!("<md:KeyDescriptor{usage}><ds:KeyInfo>{c}</ds:KeyInfo></md:KeyDescriptor>")),
                2 => out.push_str(&format!("<md:KeyDescriptor{usage}><ds:KeyInfo><ds:X509Data>{c}{c}</ds:X509Data></ds:KeyInfo></md:KeyDescriptor>")),
                _ => out.push_str(&format!("<ds:KeyInfo><ds:X509Data>{c}</ds:X509Data></ds:KeyInfo>")),
            }
        }
        if let Some(e) = &d.extra {
            out.push_str(&e.get(XML_BITS));
        }
        out.push_str("<md:SingleSignOnService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST\" Location=\"https://idp.fuzz.example/sso\"/>");
        out.push_str(&format!("</{name}>"));
    }
    if let Some(tail) = &m.tail {
        out.push_str(&tail.get(XML_BITS));
    }
    out.push_str(&format!("</{root}>"));
    out
}

fn response_xml(r: &Response) -> String {
    let extra = |at: u8| -> String { r.extra.iter().take(6).filter(|(w, _)| w % 6 == at).map(|(_, s)| s.get(XML_BITS).into_owned()).collect() };
    let (aid, rid) = (r.assertion_id.get(IDS), r.response_id.get(IDS));
    let key = if r.sign & 4 != 0 { "SIGN-RSA" } else { "SIGN" };
    let (a_ref, r_ref) = if r.sign & 8 != 0 { (&rid, &aid) } else { (&aid, &rid) };
    let a_sig = if r.sign & 1 != 0 { format!("<!--{key}:{a_ref}-->") } else { String::new() };
    let r_sig = if r.sign & 2 != 0 { format!("<!--{key}:{r_ref}-->") } else { String::new() };
    let issuer = r.issuer.get(ENTITIES);
    let mut a = format!(
        "<saml:Assertion xmlns:saml=\"{SAML}\" ID=\"{aid}\" Version=\"2.0\" IssueInstant=\"{}\"><saml:Issuer>{issuer}</saml:Issuer>{a_sig}",
        r.assertion_instant.get(DATES)
    );
    if let Some((name, format)) = &r.subject {
        a.push_str("<saml:Subject><saml:NameID");
        if let Some(f) = format {
            a.push_str(&format!(" Format=\"{}\"", f.get(FORMATS)));
        }
        a.push_str(&format!(">{}</saml:NameID>", name.get(SUBJECTS)));
        for c in r.confirmations.iter().take(3) {
            a.push_str(&format!("<saml:SubjectConfirmation Method=\"{}\"><saml:SubjectConfirmationData", c.method.get(METHODS)));
            if let Some(v) = &c.recipient {
                a.push_str(&format!(" Recipient=\"{}\"", v.get(RECIPIENTS)));
            }
            if let Some(v) = &c.not_on_or_after {
                a.push_str(&format!(" NotOnOrAfter=\"{}\"", v.get(DATES)));
            }
            if let Some(v) = &c.not_before {
                a.push_str(&format!(" NotBefore=\"{}\"", v.get(DATES)));
            }
            a.push_str("/></saml:SubjectConfirmation>");
        }
        a.push_str(&extra(0));
        a.push_str("</saml:Subject>");
    }
    if let Some(c) = &r.conditions {
        a.push_str("<saml:Conditions");
        if let Some(v) = &c.not_before {
            a.push_str(&format!(" NotBefore=\"{}\"", v.get(DATES)));
        }
        if let Some(v) = &c.not_on_or_after {
            a.push_str(&format!(" NotOnOrAfter=\"{}\"", v.get(DATES)));
        }
        a.push('>');
        for list in c.audiences.iter().take(3) {
            a.push_str("<saml:AudienceRestriction>");
            for aud in list.iter().take(3) {
                a.push_str(&format!("<saml:Audience>{}</saml:Audience>", aud.get(RECIPIENTS)));
            }
            a.push_str("</saml:AudienceRestriction>");
        }
        a.push_str("</saml:Conditions>");
    }
    a.push_str(&extra(1));
    if !r.attributes.is_empty() {
        a.push_str("<saml:AttributeStatement>");
        for (name, values) in r.attributes.iter().take(8) {
            a.push_str(&format!("<saml:Attribute Name=\"{}\">", name.get(ATTRIBUTE_NAMES)));
            for v in values.iter().take(4) {
                a.push_str(&format!("<saml:AttributeValue>{}</saml:AttributeValue>", attr_value(v)));
            }
            a.push_str("</saml:Attribute>");
        }
        a.push_str(&extra(2));
        a.push_str("</saml:AttributeStatement>");
    }
    a.push_str("</saml:Assertion>");
    if r.wrap & 1 != 0 {
        a = format!("<saml:EncryptedAssertion xmlns:saml=\"{SAML}\">{a}</saml:EncryptedAssertion>");
    }
    let response_issuer = r.response_issuer.as_ref().map(|i| format!("<saml:Issuer xmlns:saml=\"{SAML}\">{}</saml:Issuer>", i.get(ENTITIES))).unwrap_or_default();
    format!(
        "<samlp:Response xmlns:samlp=\"{SAMLP}\" ID=\"{rid}\" Version=\"2.0\" IssueInstant=\"{}\" Destination=\"https://signin.aws.amazon.com/saml\">{response_issuer}{r_sig}{}<samlp:Status><samlp:StatusCode Value=\"{}\"/></samlp:Status>{}{a}{}</samlp:Response>",
        r.issue_instant.get(DATES),
        extra(3),
        r.status.get(STATUSES),
        extra(4),
        extra(5),
    )
}

struct Keys {
    ec: EcdsaP256SigningKey,
    rsa: RsaSigningKey,
}

fn keys() -> &'static Keys {
    static K: OnceLock<Keys> = OnceLock::new();
    K.get_or_init(|| Keys {
        ec: EcdsaP256SigningKey::from_pkcs8_pem(EC_KEY).expect("EC key"),
        rsa: RsaSigningKey::from_pkcs8_pem(RSA_KEY).expect("RSA key"),
    })
}

/// Replaces the `<!--SIGN:ID-->` markers, last first, with signatures over the elements
/// with those IDs. Returns the document and whether any signature was made; a marker that
/// cannot be signed (broken XML, no such ID) is dropped.
fn sign_markers(mut xml: String) -> (String, bool) {
    let mut signed = false;
    for _ in 0..3 {
        let Some(start) = xml.rfind("<!--SIGN") else { break };
        let Some(len) = xml[start..].find("-->") else { break };
        let marker = xml[start + 4..start + len].to_owned();
        let (rsa, id) = match marker.split_once(':') {
            Some(("SIGN-RSA", id)) => (true, id.to_owned()),
            Some((_, id)) => (false, id.to_owned()),
            None => (false, String::new()),
        };
        let c14n = C14nAlgorithm::new(C14nMode::Exclusive1_0, false);
        let algorithm = if rsa { SignatureAlgorithm::RsaSha256 } else { SignatureAlgorithm::EcdsaSha256 };
        let template = SignatureBuilder::new(c14n.clone(), algorithm)
            .add_reference(ReferenceBuilder::new(DigestAlgorithm::Sha256).uri(format!("#{id}")).transform(Transform::Enveloped).transform(Transform::C14n(c14n)))
            .build_template();
        let candidate = match template {
            Ok(t) => format!("{}{t}{}", &xml[..start], &xml[start + len + 3..]),
            Err(_) => format!("{}{}", &xml[..start], &xml[start + len + 3..]),
        };
        let k = keys();
        let key: &dyn SigningKey = if rsa { &k.rsa } else { &k.ec };
        // The markers are signed last first, so the new template is always the first.
        match SignContext::new(key).signature_template_selection(SignatureTemplateSelection::FirstDescendant).sign_template(&candidate) {
            Ok(out) => {
                xml = out;
                signed = true;
            }
            Err(_) => xml = format!("{}{}", &xml[..start], &xml[start + len + 3..]),
        }
    }
    (xml, signed)
}

fn char_boundary(s: &str, at: usize) -> usize {
    let mut at = at.min(s.len());
    while !s.is_char_boundary(at) {
        at -= 1;
    }
    at
}

const EDIT_FROM: &[&str] = &["alice@example.test", "FuzzSaml", "Success", "_a1", "saml:Assertion", "2026-01-01T00:", "bearer", "<ds:SignatureValue>", "Recipient=\"", "Value>"];

fn apply(xml: &mut String, edit: &Edit) {
    match edit {
        Edit::Insert(at, s) => {
            let at = char_boundary(xml, usize::from(*at) % (xml.len() + 1));
            xml.insert_str(at, &s.get(XML_BITS));
        }
        Edit::Replace(from, to) => {
            let from = from.get(EDIT_FROM);
            if !from.is_empty() {
                *xml = xml.replacen(from.as_ref(), &to.get(SUBJECTS), 1);
            }
        }
        Edit::Delete(at, n) => {
            let start = char_boundary(xml, usize::from(*at) % (xml.len() + 1));
            let end = char_boundary(xml, start + usize::from(*n));
            xml.replace_range(start..end.max(start), "");
        }
    }
}

fn runtime_and_app() -> &'static (tokio::runtime::Runtime, Router) {
    static APP: OnceLock<(tokio::runtime::Runtime, Router)> = OnceLock::new();
    APP.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let app = rt.block_on(async {
            let store = std::sync::Arc::new(portcullis_store_sql::SqlStore::connect("sqlite::memory:").await.expect("store"));
            let key = portcullis_credentials::SecretBox::generate_key().expect("key");
            let secrets = std::sync::Arc::new(portcullis_credentials::SecretBox::new(&key).expect("secret box"));
            let now = time::OffsetDateTime::from_unix_timestamp(NOW).expect("time");
            let clock: std::sync::Arc<dyn portcullis_types::Clock> = std::sync::Arc::new(portcullis_types::FixedClock(now));
            let iam = portcullis_core::Iam::new(store, clock, secrets).expect("iam");
            iam.reset_all(ACCOUNT, EMAIL).await.expect("reset");
            iam.ensure_account(EMAIL, None).await.expect("account");
            let state = portcullis_api::AppState::new(iam, None)
                .expect("state")
                .with_test_mode(portcullis_api::TestMode::new(ACCOUNT, EMAIL, true));
            let app = portcullis_api::router(state);
            let trust = serde_json::json!({"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow",
                "Principal": {"Federated": [PROVIDER, PROVIDER_ENC]},
                "Action": ["sts:AssumeRoleWithSAML", "sts:TagSession", "sts:SetSourceIdentity"],
                "Condition": {"StringLike": {"SAML:aud": "https://*signin.aws.amazon.com/saml"}},
            }]});
            let metadata = tables().metadata.clone();
            for (params, what) in [
                (vec![("Action", "CreateSAMLProvider"), ("Name", "FuzzIdP"), ("SAMLMetadataDocument", metadata.as_str())], "provider"),
                (
                    vec![("Action", "CreateSAMLProvider"), ("Name", "FuzzIdPEnc"), ("SAMLMetadataDocument", metadata.as_str()), ("AssertionEncryptionMode", "Allowed"), ("AddPrivateKey", SP_KEY)],
                    "provider with a private key",
                ),
                (vec![("Action", "CreateRole"), ("RoleName", "FuzzSaml"), ("AssumeRolePolicyDocument", &trust.to_string()), ("MaxSessionDuration", "43200")], "role"),
            ] {
                let (status, body) = send(&app, iam_request(&params, true).expect("request")).await;
                assert!(status.is_success(), "setting up the {what}: {status} {body}");
            }
            app
        });
        (rt, app)
    })
}

/// Signed-looking headers with a key nobody issued: the test mode takes them as root.
const TEST_AUTH: &str = "AWS4-HMAC-SHA256 Credential=AKIAFUZZFUZZFUZZFUZZ/20260101/us-east-1/iam/aws4_request, SignedHeaders=host;x-amz-date, Signature=0000000000000000000000000000000000000000000000000000000000000000";

/// A query-protocol POST (IAM's version, or STS's when `signed` is false: AssumeRoleWithSAML
/// is not signed).
fn iam_request(params: &[(&str, &str)], signed: bool) -> Option<Request<Body>> {
    let mut form = form_urlencoded::Serializer::new(String::new());
    form.append_pair("Version", if signed { "2010-05-08" } else { "2011-06-15" });
    for (k, v) in params {
        form.append_pair(k, v);
    }
    let mut b = Request::builder()
        .method(Method::POST)
        .uri("/")
        .header("host", "localhost")
        .header("x-amz-date", "20260101T000000Z")
        .header("content-type", "application/x-www-form-urlencoded; charset=utf-8");
    if signed {
        b = b.header("authorization", TEST_AUTH);
    }
    b.body(Body::from(form.finish())).ok()
}

async fn send(app: &Router, req: Request<Body>) -> (axum::http::StatusCode, String) {
    let resp = app.clone().oneshot(req).await.expect("infallible");
    let status = resp.status();
    let request_id = resp.headers().get("x-amzn-RequestId").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let content_type = resp.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let body = axum::body::to_bytes(resp.into_body(), usize::MAX).await.expect("body");
    let text = String::from_utf8_lossy(&body).into_owned();
    assert!(request_id.is_some(), "no request id: {status} {text}");
    assert!(!text.contains("InternalFailure"), "a panic on the request's path: {status} {text}");
    assert!(status.as_u16() < 500, "{status} {text}");
    assert!(content_type.starts_with("text/xml"), "{status} {content_type:?} {text}");
    assert!(text.starts_with('<') && text.contains("<RequestId>"), "{status} {text}");
    if !status.is_success() {
        // Errors render: a code and a message element.
        assert!(text.contains("<ErrorResponse") && text.contains("<Code>") && !text.contains("<Code></Code>"), "{status} {text}");
    }
    (status, text)
}

/// CreateSAMLProvider of the existing provider's name: the metadata is parsed, then the
/// name is found taken. A document shorter than the model's 1,000 characters is padded.
fn check_metadata(doc: &str) {
    let (rt, app) = runtime_and_app();
    let mut doc = doc.to_owned();
    if doc.chars().count() < 1000 {
        doc.push_str(&" ".repeat(1000 - doc.chars().count()));
    }
    let Some(req) = iam_request(&[("Action", "CreateSAMLProvider"), ("Name", "FuzzIdP"), ("SAMLMetadataDocument", &doc)], true) else { return };
    let (status, text) = rt.block_on(send(app, req));
    let parsed = text.contains("<Code>EntityAlreadyExists</Code>");
    let refused = text.contains("<Code>InvalidInput</Code>") || text.contains("<Code>ValidationError</Code>") || text.contains("<Code>MalformedInput</Code>");
    assert!(parsed || refused, "metadata answered otherwise: {status} {text}");
}

/// AssumeRoleWithSAML with `xml` (its markers signed) as the response.
fn check_response(xml: String, encrypted_provider: bool, role: &str, provider: Option<&str>, duration: Option<&str>, edits: &[Edit]) {
    let (mut xml, signed) = sign_markers(xml);
    for e in edits.iter().take(3) {
        apply(&mut xml, e);
    }
    let assertion = STANDARD.encode(xml.as_bytes());
    check_assertion(&assertion, encrypted_provider, role, provider, duration, signed);
}

fn check_assertion(assertion: &str, encrypted_provider: bool, role: &str, provider: Option<&str>, duration: Option<&str>, signed: bool) {
    let (rt, app) = runtime_and_app();
    let provider = provider.unwrap_or(if encrypted_provider { PROVIDER_ENC } else { PROVIDER });
    let mut params = vec![("Action", "AssumeRoleWithSAML"), ("RoleArn", role), ("PrincipalArn", provider), ("SAMLAssertion", assertion)];
    if let Some(d) = duration {
        params.push(("DurationSeconds", d));
    }
    let Some(req) = iam_request(&params, false) else { return };
    let (status, text) = rt.block_on(send(app, req));
    if std::env::var_os("PORTCULLIS_FUZZ_DEBUG").is_some() {
        eprintln!("{status} {text}");
    }
    assert!(signed || !status.is_success(), "an unsigned response was accepted: {text}");
}

fuzz_target!(|data: &[u8]| {
    let text = |rest: &[u8]| String::from_utf8_lossy(rest).into_owned();
    if let Some(rest) = data.strip_prefix(b"metadata\n") {
        check_metadata(&text(rest));
    } else if let Some(rest) = data.strip_prefix(b"response\n") {
        check_response(text(rest), false, ROLE, None, None, &[]);
    } else if let Some(rest) = data.strip_prefix(b"response-enc\n") {
        check_response(text(rest), true, ROLE, None, None, &[]);
    } else if let Some(rest) = data.strip_prefix(b"assertion\n") {
        check_assertion(&text(rest), false, ROLE, None, None, false);
    } else {
        let Ok(call) = Call::arbitrary_take_rest(Unstructured::new(data)) else { return };
        match call {
            Call::Metadata(m) => check_metadata(&metadata_xml(&m)),
            Call::Response(r) => check_response(
                response_xml(&r),
                false,
                &r.role.get(REQUEST_ROLES),
                Some(&r.provider.get(REQUEST_PROVIDERS)),
                r.duration.as_ref().map(|d| d.get(DURATIONS)).as_deref(),
                &r.edits,
            ),
        }
    }
});
