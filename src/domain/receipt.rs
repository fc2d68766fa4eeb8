//! Signed consent receipts: a JSON document shaped after Kantara Consent Receipt 1.1, plus
//! the notice hash and the ledger position, signed as a compact JWS with EdDSA (Ed25519).
//!
//! The receipt names the person only by the subject id, never by name or e-mail: it is
//! handed to lawyers and kept by the participant, and it must stay valid after erasure.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The Kantara specification version the receipt follows.
pub const KANTARA_VERSION: &str = "KI-CR-v1.1.0";

/// A receipt's claims. Field names follow Kantara CR 1.1 where a field applies; the
/// `consentd` member carries what Kantara has no field for.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReceiptClaims {
    pub version: String,
    pub jurisdiction: String,
    /// Seconds since the epoch, when the consent was recorded.
    pub consent_timestamp: i64,
    pub collection_method: String,
    #[serde(rename = "consentReceiptID")]
    pub consent_receipt_id: String,
    pub language: String,
    /// The subject id (a random id), not an e-mail address.
    pub pii_principal_id: String,
    pub pii_controllers: Vec<PiiController>,
    pub policy_url: String,
    pub services: Vec<Service>,
    pub sensitive: bool,
    pub spi_cat: Vec<String>,
    /// When this receipt was issued: the time of the newest event it reflects, so the same
    /// state always gives the same receipt.
    pub iat: i64,
    pub consentd: ReceiptProof,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PiiController {
    pub pii_controller: String,
    pub contact: String,
    pub address: String,
    pub email: String,
    pub phone: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Service {
    pub service: String,
    pub purposes: Vec<ServicePurpose>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServicePurpose {
    pub purpose: String,
    pub purpose_category: Vec<String>,
    /// `EXPLICIT` for opt-in consents, `NOTICE` for required purposes that are acknowledged.
    pub consent_type: String,
    pub pii_category: Vec<String>,
    pub primary_purpose: bool,
    pub termination: String,
    pub third_party_disclosure: bool,
}

/// What ties the receipt to consentd's evidence.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReceiptProof {
    pub record_id: String,
    pub workshop: String,
    pub notice: ReceiptNotice,
    pub purposes: Vec<ReceiptPurposeState>,
    /// The ledger entry that recorded the consent.
    pub recorded_seq: i64,
    pub recorded_entry_sha256: String,
    /// The newest ledger entry about this record when the receipt was issued.
    pub latest_seq: i64,
    pub latest_entry_sha256: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReceiptNotice {
    pub id: String,
    pub version: i64,
    pub language: String,
    /// SHA-256 of the exact text shown.
    pub sha256: String,
    /// SHA-256 of text and metadata (purposes, storage periods).
    pub content_sha256: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReceiptPurposeState {
    pub id: String,
    pub legal_basis: String,
    /// given, refused, acknowledged, withdrawn, expired, erased, …
    pub state: String,
    pub since: String,
}

/// An Ed25519 public key with its id: the RFC 7638 JWK thumbprint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicKey {
    pub key_id: String,
    pub key: VerifyingKey,
}

impl PublicKey {
    pub fn new(key: VerifyingKey) -> Self {
        PublicKey {
            key_id: key_id(&key),
            key,
        }
    }

    /// The key as base64url, the JWK `x` member.
    pub fn x(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.key.as_bytes())
    }

    /// Parses a JWK `x` member.
    pub fn from_x(x: &str) -> Result<Self, ReceiptError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(x.trim())
            .map_err(|_| ReceiptError::BadKey("`x` is not base64url"))?;
        let bytes: [u8; 32] = bytes
            .try_into()
            .map_err(|_| ReceiptError::BadKey("an Ed25519 key has 32 bytes"))?;
        VerifyingKey::from_bytes(&bytes)
            .map(PublicKey::new)
            .map_err(|_| ReceiptError::BadKey("not a valid Ed25519 point"))
    }
}

/// RFC 7638 thumbprint of the key as an OKP JWK: stable, and computable by anyone.
pub fn key_id(key: &VerifyingKey) -> String {
    let x = URL_SAFE_NO_PAD.encode(key.as_bytes());
    let canonical = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#);
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

#[derive(Debug, Serialize, Deserialize)]
struct JwsHeader {
    alg: String,
    kid: String,
    typ: String,
}

/// Signs the claims as a compact JWS (`header.payload.signature`, base64url).
pub fn sign(claims: &ReceiptClaims, key: &SigningKey) -> String {
    let header = JwsHeader {
        alg: "EdDSA".to_owned(),
        kid: key_id(&key.verifying_key()),
        typ: "JWT".to_owned(),
    };
    // Serialising these plain structs cannot fail.
    let header = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header).unwrap_or_default());
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap_or_default());
    let signing_input = format!("{header}.{payload}");
    let signature = key.sign(signing_input.as_bytes());
    format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(signature.to_bytes())
    )
}

/// Why a receipt did not verify. The messages are shown to whoever checks a receipt.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReceiptError {
    #[error("not a compact JWS: expected three base64url parts separated by dots")]
    NotCompact,
    #[error("the {0} is not valid base64url: the receipt was damaged or changed")]
    BadEncoding(&'static str),
    #[error("the {0} is not valid JSON: the receipt was damaged or changed")]
    BadJson(&'static str),
    #[error("algorithm `{0}` is not accepted; consentd receipts are signed with EdDSA")]
    Algorithm(String),
    #[error("no public key with id `{0}` was given; fetch the keys from /api/v1/keys")]
    UnknownKey(String),
    #[error("invalid public key: {0}")]
    BadKey(&'static str),
    #[error(
        "the signature does not match: the receipt was changed after it was signed, or it was not signed with key `{0}`"
    )]
    Signature(String),
}

/// A receipt that verified, with the key that signed it.
#[derive(Debug, Clone)]
pub struct VerifiedReceipt {
    pub key_id: String,
    pub claims: ReceiptClaims,
}

/// Verifies a compact JWS against the given keys (matched by `kid`) and parses its claims.
pub fn verify(jws: &str, keys: &[PublicKey]) -> Result<VerifiedReceipt, ReceiptError> {
    let mut parts = jws.trim().split('.');
    let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ReceiptError::NotCompact);
    };
    let header = URL_SAFE_NO_PAD
        .decode(header_b64)
        .map_err(|_| ReceiptError::BadEncoding("header"))?;
    let header: JwsHeader =
        serde_json::from_slice(&header).map_err(|_| ReceiptError::BadJson("header"))?;
    if header.alg != "EdDSA" {
        return Err(ReceiptError::Algorithm(header.alg));
    }
    let signature = URL_SAFE_NO_PAD
        .decode(signature_b64)
        .map_err(|_| ReceiptError::BadEncoding("signature"))?;
    let signature: [u8; 64] = signature
        .try_into()
        .map_err(|_| ReceiptError::Signature(header.kid.clone()))?;
    let key = keys
        .iter()
        .find(|k| k.key_id == header.kid)
        .ok_or_else(|| ReceiptError::UnknownKey(header.kid.clone()))?;
    let signing_input = &jws.trim()[..header_b64.len() + 1 + payload_b64.len()];
    key.key
        .verify_strict(signing_input.as_bytes(), &Signature::from_bytes(&signature))
        .map_err(|_| ReceiptError::Signature(header.kid.clone()))?;
    let payload = URL_SAFE_NO_PAD
        .decode(payload_b64)
        .map_err(|_| ReceiptError::BadEncoding("payload"))?;
    let claims = serde_json::from_slice(&payload).map_err(|_| ReceiptError::BadJson("payload"))?;
    Ok(VerifiedReceipt {
        key_id: header.kid,
        claims,
    })
}

/// The key id a compact JWS names, without verifying anything.
pub fn key_id_of(jws: &str) -> Option<String> {
    let header = URL_SAFE_NO_PAD.decode(jws.trim().split('.').next()?).ok()?;
    serde_json::from_slice::<JwsHeader>(&header)
        .ok()
        .map(|h| h.kid)
}

/// The JWS in a receipt file: the compact JWS itself, or a JSON document with a `jws`
/// member (what `GET /api/v1/receipts/{token}` answers, and the ZIP export's `.json` files).
pub fn jws_in(text: &str) -> Option<String> {
    let text = text.trim();
    if text.starts_with('{') {
        let value: serde_json::Value = serde_json::from_str(text).ok()?;
        return value.get("jws")?.as_str().map(str::to_owned);
    }
    Some(text.to_owned())
}

/// Public keys from a key file: a JWK set (`{"keys": […]}`, as `/api/v1/keys` serves it), a
/// single JWK, or an SPKI PEM (`-----BEGIN PUBLIC KEY-----`).
pub fn parse_public_keys(text: &str) -> Result<Vec<PublicKey>, ReceiptError> {
    use ed25519_dalek::pkcs8::DecodePublicKey;
    let text = text.trim();
    if text.starts_with("-----BEGIN PUBLIC KEY-----") {
        return VerifyingKey::from_public_key_pem(text)
            .map(|k| vec![PublicKey::new(k)])
            .map_err(|_| ReceiptError::BadKey("not an Ed25519 public key in SPKI PEM"));
    }
    let value: serde_json::Value = serde_json::from_str(text)
        .map_err(|_| ReceiptError::BadKey("expected a JWK set, a JWK or a PEM public key"))?;
    let jwks: Vec<&serde_json::Value> = match value.get("keys").and_then(|k| k.as_array()) {
        Some(keys) => keys.iter().collect(),
        None => vec![&value],
    };
    let mut keys = Vec::new();
    for jwk in jwks {
        if jwk.get("kty").and_then(|v| v.as_str()) != Some("OKP")
            || jwk.get("crv").and_then(|v| v.as_str()) != Some("Ed25519")
        {
            continue;
        }
        let x = jwk
            .get("x")
            .and_then(|v| v.as_str())
            .ok_or(ReceiptError::BadKey("a JWK without `x`"))?;
        // The id is recomputed, never taken from the file: a key cannot claim another's id.
        keys.push(PublicKey::from_x(x)?);
    }
    if keys.is_empty() {
        return Err(ReceiptError::BadKey("no Ed25519 key in the file"));
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> ReceiptClaims {
        ReceiptClaims {
            version: KANTARA_VERSION.to_owned(),
            jurisdiction: "DE".to_owned(),
            consent_timestamp: 1_800_000_000,
            collection_method: "web_form".to_owned(),
            consent_receipt_id: "0c1f".to_owned(),
            language: "de".to_owned(),
            pii_principal_id: "subject-1".to_owned(),
            pii_controllers: vec![PiiController {
                pii_controller: "Stiftung".to_owned(),
                contact: "Datenschutz".to_owned(),
                address: "Köln".to_owned(),
                email: "dsb@example.org".to_owned(),
                phone: String::new(),
            }],
            policy_url: "https://example.org/notice".to_owned(),
            services: vec![],
            sensitive: false,
            spi_cat: vec![],
            iat: 1_800_000_000,
            consentd: ReceiptProof {
                record_id: "r1".to_owned(),
                workshop: "demo".to_owned(),
                notice: ReceiptNotice {
                    id: "n".to_owned(),
                    version: 2,
                    language: "de".to_owned(),
                    sha256: "ab".repeat(32),
                    content_sha256: "cd".repeat(32),
                },
                purposes: vec![],
                recorded_seq: 7,
                recorded_entry_sha256: "ef".repeat(32),
                latest_seq: 7,
                latest_entry_sha256: "ef".repeat(32),
            },
        }
    }

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    #[test]
    fn a_signed_receipt_verifies_and_returns_its_claims() {
        let jws = sign(&claims(), &key(1));
        let verified = verify(&jws, &[PublicKey::new(key(1).verifying_key())]).unwrap();
        assert_eq!(verified.claims, claims());
        assert_eq!(verified.key_id, key_id(&key(1).verifying_key()));
        // Ed25519 is deterministic: the same state gives the same receipt.
        assert_eq!(jws, sign(&claims(), &key(1)));
    }

    #[test]
    fn every_one_byte_change_is_detected() {
        let jws = sign(&claims(), &key(1));
        let keys = [PublicKey::new(key(1).verifying_key())];
        for i in 0..jws.len() {
            let mut bytes = jws.clone().into_bytes();
            bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
            let tampered = String::from_utf8(bytes).unwrap();
            assert!(
                verify(&tampered, &keys).is_err(),
                "change at byte {i} went undetected"
            );
        }
    }

    #[test]
    fn another_key_or_algorithm_is_refused_with_a_clear_reason() {
        let jws = sign(&claims(), &key(1));
        let other = PublicKey::new(key(2).verifying_key());
        assert!(matches!(
            verify(&jws, std::slice::from_ref(&other)),
            Err(ReceiptError::UnknownKey(_))
        ));
        // Same kid, other key: the signature cannot match.
        let impostor = PublicKey {
            key_id: key_id(&key(1).verifying_key()),
            key: key(2).verifying_key(),
        };
        assert!(matches!(
            verify(&jws, &[impostor]),
            Err(ReceiptError::Signature(_))
        ));
        let none = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"none","kid":"x","typ":"JWT"}"#),
            jws.split_once('.').unwrap().1
        );
        assert!(matches!(
            verify(&none, &[other]),
            Err(ReceiptError::Algorithm(_))
        ));
        assert_eq!(verify("a.b", &[]).unwrap_err(), ReceiptError::NotCompact);
    }

    #[test]
    fn keys_are_read_from_jwks_jwk_and_pem() {
        use ed25519_dalek::pkcs8::EncodePublicKey;
        use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
        let public = PublicKey::new(key(1).verifying_key());
        let jwk = format!(
            r#"{{"kty":"OKP","crv":"Ed25519","x":"{}","kid":"forged"}}"#,
            public.x()
        );
        let jwks = format!(r#"{{"keys":[{jwk}]}}"#);
        let pem = key(1)
            .verifying_key()
            .to_public_key_pem(LineEnding::LF)
            .unwrap();
        for text in [jwk.as_str(), jwks.as_str(), pem.as_str()] {
            assert_eq!(
                parse_public_keys(text).unwrap(),
                vec![public.clone()],
                "{text}"
            );
        }
        assert!(parse_public_keys("hello").is_err());
        let jws = sign(&claims(), &key(1));
        assert_eq!(jws_in(&format!(r#"{{"jws":"{jws}"}}"#)).unwrap(), jws);
        assert_eq!(jws_in(&format!("{jws}\n")).unwrap(), jws);
    }

    #[test]
    fn key_id_is_the_rfc7638_thumbprint() {
        // RFC 8037 appendix A.3: the thumbprint of its example Ed25519 key.
        let key = PublicKey::from_x("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo").unwrap();
        assert_eq!(key.key_id, "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
        assert_eq!(key.x(), "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo");
    }
}
