//! Passwords: Argon2id with the crate's recommended parameters, and a check that takes the
//! same time whether or not the name exists.

use std::sync::LazyLock;

use argon2::{
    Argon2,
    password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng},
};

/// The shortest password `operator add` / `operator passwd` accept.
pub const MIN_LEN: usize = 10;

pub fn hash(password: &str) -> Result<String, String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| format!("cannot hash the password: {e}"))
}

/// A hash of nothing anybody knows, checked when the name does not exist so that a wrong name
/// takes as long as a wrong password.
static DUMMY: LazyLock<String> =
    LazyLock::new(|| hash("no operator has this password").unwrap_or_default());

pub fn verify(password: &str, stored: Option<&str>) -> bool {
    let stored = stored.unwrap_or(DUMMY.as_str());
    let Ok(parsed) = PasswordHash::new(stored) else {
        return false;
    };
    Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok()
        && stored != DUMMY.as_str()
}

/// Why a new password is not acceptable, or `None`.
pub fn weakness(password: &str) -> Option<String> {
    let n = password.chars().count();
    if n < MIN_LEN {
        return Some(format!(
            "the password has {n} characters; use at least {MIN_LEN}"
        ));
    }
    if password.chars().any(char::is_control) {
        return Some("the password contains a control character".into());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_and_nothing_else() {
        let h = hash("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("correct horse battery", Some(&h)));
        assert!(!verify("correct horse batterY", Some(&h)));
    }

    #[test]
    fn an_unknown_name_never_verifies() {
        assert!(!verify("no operator has this password", None));
        assert!(!verify("anything", Some("not a hash")));
    }

    #[test]
    fn short_passwords_are_refused() {
        assert!(weakness("short").is_some());
        assert!(weakness("long enough pw").is_none());
    }
}
