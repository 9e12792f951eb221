use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize, Serializer};

/// The short name of an Official Account in this deployment, as it appears in URLs
/// (`/a/{key}/groups`): 1 to 32 lower-case ASCII letters, digits and '-', neither first nor last.
///
/// Lower case only, so that one account has one URL (no `/a/Shop/` beside `/a/shop/`), and
/// nothing that needs percent-encoding, so that a key reads the same in a link, a log line and
/// the config file.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(try_from = "String")]
pub struct AccountKey(String);

/// Why an account key was refused. The value itself is not repeated, only the character at fault.
///
/// In English: a key is refused when the settings are read (the start stops), before any page.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccountKeyError {
    #[error("is empty; an account key has 1 to {max} characters", max = AccountKey::MAX_LEN)]
    Empty,
    #[error("has {0} characters; an account key has at most {max}", max = AccountKey::MAX_LEN)]
    TooLong(usize),
    #[error("has the upper-case letter {0:?}; an account key is in lower case")]
    UpperCase(char),
    #[error("has {0:?}; an account key has only lower-case letters a-z, digits 0-9 and '-'")]
    NotAllowed(char),
    #[error("starts or ends with '-'; an account key begins and ends with a letter or a digit")]
    EdgeHyphen,
}

impl AccountKey {
    /// The longest key, in characters.
    pub const MAX_LEN: usize = 32;

    /// The key of the one account the single-account settings (`WXGROUPS_APPID`) make.
    pub const DEFAULT: &'static str = "default";

    /// Checks a key written in the config file or taken from a URL. Nothing is trimmed: a key
    /// with a space is refused rather than silently becoming another key.
    pub fn parse(input: &str) -> Result<Self, AccountKeyError> {
        if input.is_empty() {
            return Err(AccountKeyError::Empty);
        }
        let len = input.chars().count();
        if len > Self::MAX_LEN {
            return Err(AccountKeyError::TooLong(len));
        }
        if let Some(c) = input
            .chars()
            .find(|&c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'))
        {
            return Err(if c.is_ascii_uppercase() {
                AccountKeyError::UpperCase(c)
            } else {
                AccountKeyError::NotAllowed(c)
            });
        }
        if input.starts_with('-') || input.ends_with('-') {
            return Err(AccountKeyError::EdgeHyphen);
        }
        Ok(AccountKey(input.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// [`AccountKey::DEFAULT`]: the key of the account `WXGROUPS_APPID` makes.
impl Default for AccountKey {
    fn default() -> Self {
        AccountKey(Self::DEFAULT.to_owned())
    }
}

impl fmt::Display for AccountKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for AccountKey {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl FromStr for AccountKey {
    type Err = AccountKeyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for AccountKey {
    type Error = AccountKeyError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl Serialize for AccountKey {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lower_case_words_digits_and_inner_hyphens_are_keys() {
        for ok in ["shop", "brand-2", "a", "2024", "east-china-1"] {
            assert_eq!(AccountKey::parse(ok).unwrap().as_str(), ok);
        }
        assert_eq!(AccountKey::default().as_str(), "default");
        assert!(AccountKey::parse(AccountKey::DEFAULT).is_ok());
    }

    #[test]
    fn an_empty_key_is_refused() {
        assert_eq!(AccountKey::parse(""), Err(AccountKeyError::Empty));
    }

    #[test]
    fn upper_case_is_refused_by_name() {
        assert_eq!(
            AccountKey::parse("Shop"),
            Err(AccountKeyError::UpperCase('S'))
        );
        assert_eq!(
            AccountKey::parse("shÖp"),
            Err(AccountKeyError::NotAllowed('Ö'))
        );
    }

    #[test]
    fn spaces_slashes_and_other_characters_are_refused() {
        for (bad, c) in [
            ("my shop", ' '),
            (" shop", ' '),
            ("shop/2", '/'),
            ("shop_2", '_'),
            ("shop.cn", '.'),
            ("商城", '商'),
            ("shop%2f", '%'),
        ] {
            assert_eq!(
                AccountKey::parse(bad),
                Err(AccountKeyError::NotAllowed(c)),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_hyphen_may_not_start_or_end_a_key() {
        for bad in ["-shop", "shop-", "-"] {
            assert_eq!(
                AccountKey::parse(bad),
                Err(AccountKeyError::EdgeHyphen),
                "{bad}"
            );
        }
    }

    #[test]
    fn thirty_two_characters_are_the_most() {
        assert!(AccountKey::parse(&"a".repeat(32)).is_ok());
        assert_eq!(
            AccountKey::parse(&"a".repeat(33)),
            Err(AccountKeyError::TooLong(33))
        );
    }

    #[test]
    fn a_key_serializes_as_its_text_and_deserializes_only_when_valid() {
        let key = AccountKey::parse("brand-2").unwrap();
        assert_eq!(serde_json::to_string(&key).unwrap(), "\"brand-2\"");
        assert_eq!(key.to_string(), "brand-2");
        assert_eq!(
            serde_json::from_str::<AccountKey>("\"brand-2\"").unwrap(),
            key
        );
        assert!(serde_json::from_str::<AccountKey>("\"Brand\"").is_err());
    }
}
