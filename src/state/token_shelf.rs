//! The access_token shared by a deployment's instances, kept in the database sealed.
//!
//! Sealed with ChaCha20-Poly1305 under a key derived from the deployment's secret key (so only
//! instances of this deployment can open it), with the account's key as associated data (a
//! sealed token copied to another account's row does not open). A row that does not open (the
//! secret key changed) is as good as none: the token is fetched again.

use base64::{Engine, engine::general_purpose::STANDARD};
use chacha20poly1305::{
    ChaCha20Poly1305, Key, KeyInit, Nonce,
    aead::{Aead, Payload},
};
use futures_util::future::BoxFuture;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

use crate::{store::Store, wechat::TokenShelf};

pub struct SealedShelf {
    store: Store,
    cipher: ChaCha20Poly1305,
    fingerprint_key: [u8; 32],
}

impl SealedShelf {
    pub fn new(store: Store, secret: &SecretString) -> SealedShelf {
        let key = super::keys::derive(secret, "access_token seal");
        SealedShelf {
            store,
            cipher: ChaCha20Poly1305::new(Key::from_slice(&key)),
            fingerprint_key: super::keys::derive(secret, "access_token fingerprint"),
        }
    }

    fn seal(&self, token: &SecretString) -> Option<String> {
        let nonce: [u8; 12] = rand::random();
        let payload = Payload {
            msg: token.expose_secret().as_bytes(),
            aad: self.store.account().as_bytes(),
        };
        let mut sealed = nonce.to_vec();
        sealed.extend(
            self.cipher
                .encrypt(Nonce::from_slice(&nonce), payload)
                .ok()?,
        );
        Some(STANDARD.encode(sealed))
    }

    fn open(&self, sealed: &str) -> Option<SecretString> {
        let bytes = STANDARD.decode(sealed).ok()?;
        let (nonce, body) = bytes.split_at_checked(12)?;
        let payload = Payload {
            msg: body,
            aad: self.store.account().as_bytes(),
        };
        let plain = self
            .cipher
            .decrypt(Nonce::from_slice(nonce), payload)
            .ok()?;
        String::from_utf8(plain).ok().map(SecretString::from)
    }

    fn fingerprint(&self, token: &SecretString) -> String {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.fingerprint_key)
            .expect("HMAC takes any key length");
        mac.update(token.expose_secret().as_bytes());
        STANDARD.encode(mac.finalize().into_bytes())
    }
}

#[async_trait::async_trait]
impl TokenShelf for SealedShelf {
    async fn load(&self) -> Option<(SecretString, i64)> {
        let (sealed, _, refresh_at) = self.store.token_stored().await.ok()??;
        let token = self.open(&sealed);
        if token.is_none() {
            tracing::warn!(
                "the shared access_token does not open (another secret key?); fetching one"
            );
        }
        Some((token?, refresh_at))
    }

    async fn put(&self, token: &SecretString, refresh_at_us: i64) {
        let Some(sealed) = self.seal(token) else {
            return;
        };
        let stored = self
            .store
            .token_store(&sealed, &self.fingerprint(token), refresh_at_us)
            .await;
        if let Err(e) = stored {
            tracing::warn!(error = %e, "cannot share the access_token with the other instances");
        }
    }

    async fn discard(&self, token: &SecretString) {
        if let Err(e) = self.store.token_discard(&self.fingerprint(token)).await {
            tracing::warn!(error = %e, "cannot drop the refused shared access_token");
        }
    }

    async fn exclusively<'a>(&'a self, work: BoxFuture<'a, ()>) {
        let lock = format!("token:{}", self.store.account());
        if let Err(e) = self.store.exclusively(&lock, work).await {
            tracing::warn!(error = %e, "cannot take the token lock");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_sealed_token_opens_with_its_key_and_account_only() {
        let store = Store::connect("sqlite::memory:").await.unwrap();
        let secret = SecretString::from("s".repeat(40));
        let shelf = SealedShelf::new(store.clone(), &secret);
        let token = SecretString::from("ACCESS_TOKEN_VALUE".to_owned());
        let sealed = shelf.seal(&token).unwrap();
        assert!(!sealed.contains("ACCESS_TOKEN_VALUE"));
        assert_eq!(
            shelf.open(&sealed).unwrap().expose_secret(),
            "ACCESS_TOKEN_VALUE"
        );
        let other_key = SealedShelf::new(store.clone(), &SecretString::from("t".repeat(40)));
        assert!(
            other_key.open(&sealed).is_none(),
            "another deployment's key"
        );
        let other_account = SealedShelf::new(store.for_account("shop"), &secret);
        assert!(
            other_account.open(&sealed).is_none(),
            "another account's row"
        );
        assert_ne!(shelf.seal(&token), Some(sealed), "a fresh nonce every time");
    }
}
