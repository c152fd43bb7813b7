//! Signed webhooks: `X-Otklik-Signature: sha256=<hex HMAC-SHA256 of the raw body>` under the
//! channel's secret (Meta's `X-Hub-Signature-256` has the same form under the app secret), and
//! the signatures Otklik puts on what it sends out.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Why a signature was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadSignature {
    #[error("the request is not signed: the `{0}` header is missing")]
    Missing(&'static str),
    #[error("the `{0}` header is not `sha256=` and 64 hex digits")]
    Malformed(&'static str),
    #[error("the signature in `{0}` does not match the body")]
    Mismatch(&'static str),
}

/// `sha256=<hex>` of `body` under `secret`.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes a key of any length");
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    format!("sha256={}", hex(&digest))
}

/// Checks `header` (the value of the header named `name`, if present) against `body`, in
/// constant time.
pub fn verify(name: &'static str, header: Option<&str>, secret: &[u8], body: &[u8]) -> Result<(), BadSignature> {
    let header = header.ok_or(BadSignature::Missing(name))?;
    let digest = header
        .trim()
        .strip_prefix("sha256=")
        .and_then(unhex)
        .filter(|digest| digest.len() == 32)
        .ok_or(BadSignature::Malformed(name))?;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes a key of any length");
    mac.update(body);
    mac.verify_slice(&digest).map_err(|_| BadSignature::Mismatch(name))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len()).step_by(2).map(|at| u8::from_str_radix(text.get(at..at + 2)?, 16).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_matches_its_body_only() {
        let signed = sign(b"secret", b"{\"a\":1}");
        assert!(verify("X-Otklik-Signature", Some(&signed), b"secret", b"{\"a\":1}").is_ok());
        assert_eq!(
            verify("X-Otklik-Signature", Some(&signed), b"secret", b"{\"a\":2}"),
            Err(BadSignature::Mismatch("X-Otklik-Signature"))
        );
        assert_eq!(
            verify("X-Otklik-Signature", Some(&signed), b"other", b"{\"a\":1}"),
            Err(BadSignature::Mismatch("X-Otklik-Signature"))
        );
        assert_eq!(verify("X", None, b"s", b""), Err(BadSignature::Missing("X")));
        for bad in ["sha1=00", "sha256=zz", "sha256=abcd", ""] {
            assert_eq!(verify("X", Some(bad), b"s", b""), Err(BadSignature::Malformed("X")), "{bad}");
        }
    }

    #[test]
    fn the_known_vector_of_rfc_4231_case_2() {
        assert_eq!(
            sign(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
