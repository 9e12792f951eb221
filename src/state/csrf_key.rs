//! The key that signs the CSRF nonce of browsers without a session (see `web::csrf`).

use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The key that signs nonces: random per process, or — so that a sign-in page from one
/// instance can be posted to another — derived from the deployment's secret key. Never stored
/// or logged.
#[derive(Clone)]
pub struct CsrfKey([u8; 32]);

impl CsrfKey {
    pub fn random() -> CsrfKey {
        CsrfKey(rand::random())
    }

    /// The same key on every instance that has the same secret key (and no other key: a key
    /// of its own for this one use, so a token never tells anything of the secret).
    pub fn derived(secret: &secrecy::SecretString) -> CsrfKey {
        CsrfKey(crate::state::keys::derive(secret, "csrf"))
    }

    /// The token that goes with `nonce`.
    pub fn sign(&self, nonce: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(nonce.as_bytes());
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }
}

impl std::fmt::Debug for CsrfKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CsrfKey(…)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signed_nonce_is_bound_to_its_nonce_and_its_key() {
        let key = CsrfKey::random();
        let token = key.sign("nonce-a");
        assert_eq!(token, key.sign("nonce-a"));
        assert_ne!(token, key.sign("nonce-b"));
        assert_ne!(token, CsrfKey::random().sign("nonce-a"));
        assert_eq!(format!("{key:?}"), "CsrfKey(…)");
        let secret = secrecy::SecretString::from("k".repeat(40));
        assert_eq!(
            CsrfKey::derived(&secret).sign("n"),
            CsrfKey::derived(&secret).sign("n"),
            "instances with one secret key sign alike"
        );
        let other = secrecy::SecretString::from("j".repeat(40));
        assert_ne!(
            CsrfKey::derived(&secret).sign("n"),
            CsrfKey::derived(&other).sign("n")
        );
    }
}
