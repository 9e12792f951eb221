//! Keys derived from the deployment's secret key, one per use.
//!
//! HMAC-SHA256 of the use's name under the secret (HKDF's expand step with one block): knowing
//! one derived key (say, from a leaked CSRF token's key) tells nothing of the secret or of the
//! others.

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

pub fn derive(secret: &SecretString, purpose: &str) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose_secret().as_bytes())
        .expect("HMAC takes any key length");
    mac.update(b"wxgroups key for ");
    mac.update(purpose.as_bytes());
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_use_has_its_own_key_and_each_secret_its_own_keys() {
        let a = SecretString::from("a".repeat(32));
        let b = SecretString::from("b".repeat(32));
        assert_eq!(derive(&a, "csrf"), derive(&a, "csrf"));
        assert_ne!(derive(&a, "csrf"), derive(&a, "token"));
        assert_ne!(derive(&a, "csrf"), derive(&b, "csrf"));
    }
}
