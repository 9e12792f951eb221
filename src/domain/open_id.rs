use std::fmt;

use serde::Serialize;

use crate::i18n::Lang;

/// A follower's OpenID: an opaque string of letters, digits, `_` and `-`.
///
/// Real ones are 28 characters, but WeChat does not promise that, so we bound the length
/// loosely instead of demanding exactly 28.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct OpenId(String);

/// Which rule a typed OpenID broke.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenIdError {
    #[error("no OpenID given")]
    Empty,
    #[error("the OpenID is {len} characters; it needs at least {min}")]
    TooShort { len: usize, min: usize },
    #[error("the OpenID is {len} characters; at most {max} are allowed")]
    TooLong { len: usize, max: usize },
    /// Anything outside `[A-Za-z0-9_-]`: spaces, slashes, line breaks, non-ASCII.
    #[error("the OpenID contains {found:?} at position {position}")]
    BadChar { position: usize, found: char },
}

impl OpenId {
    pub const MIN_LEN: usize = 6;
    pub const MAX_LEN: usize = 64;

    /// Parses an OpenID pasted into a form. Surrounding whitespace (a pasted line break) is
    /// forgiven; anything inside is not.
    pub fn parse(input: &str) -> Result<Self, OpenIdError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(OpenIdError::Empty);
        }
        if let Some((i, c)) = s
            .chars()
            .enumerate()
            .find(|&(_, c)| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
        {
            return Err(OpenIdError::BadChar {
                position: i + 1,
                found: c,
            });
        }
        // All ASCII from here on, so bytes are characters.
        let len = s.len();
        if len < Self::MIN_LEN {
            return Err(OpenIdError::TooShort {
                len,
                min: Self::MIN_LEN,
            });
        }
        if len > Self::MAX_LEN {
            return Err(OpenIdError::TooLong {
                len,
                max: Self::MAX_LEN,
            });
        }
        Ok(OpenId(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for OpenId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for OpenId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl OpenIdError {
    /// The message an operator sees next to the field.
    pub fn message(&self, lang: Lang) -> String {
        let l = lang.code();
        match self {
            Self::Empty => rust_i18n::t!("err.openid.empty", locale = l).into_owned(),
            Self::TooShort { len, min } => {
                rust_i18n::t!("err.openid.too_short", locale = l, len = len, min = min).into_owned()
            }
            Self::TooLong { len, max } => {
                rust_i18n::t!("err.openid.too_long", locale = l, len = len, max = max).into_owned()
            }
            Self::BadChar { position, found } => {
                let shown = match found {
                    // Named, not drawn: "␠" is missing from many fonts.
                    ' ' => match lang {
                        Lang::Zh => "空格".to_owned(),
                        Lang::En => "space".to_owned(),
                    },
                    '\u{3000}' => match lang {
                        Lang::Zh => "全角空格".to_owned(),
                        Lang::En => "ideographic space".to_owned(),
                    },
                    '\r' => "CR".to_owned(),
                    '\n' => "LF".to_owned(),
                    '\t' => "TAB".to_owned(),
                    c if c.is_control() => format!("U+{:04X}", *c as u32),
                    c => c.to_string(),
                };
                rust_i18n::t!(
                    "err.openid.bad_char",
                    locale = l,
                    position = position,
                    found = shown
                )
                .into_owned()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_real_looking_openid_parses() {
        let id = OpenId::parse("oDF3iYx0ro3_7jD4HFRDfrjdCM58").unwrap();
        assert_eq!(id.as_str(), "oDF3iYx0ro3_7jD4HFRDfrjdCM58");
    }

    #[test]
    fn a_pasted_line_break_around_it_is_forgiven() {
        assert!(OpenId::parse("  od8XIjsmk6QdVTETa9jLtGWA6KBc\r\n").is_ok());
    }

    #[test]
    fn an_empty_openid_is_refused() {
        assert_eq!(OpenId::parse(" \n"), Err(OpenIdError::Empty));
    }

    #[test]
    fn lengths_outside_the_bounds_are_refused() {
        assert_eq!(
            OpenId::parse("abc"),
            Err(OpenIdError::TooShort { len: 3, min: 6 })
        );
        assert_eq!(
            OpenId::parse(&"a".repeat(65)),
            Err(OpenIdError::TooLong { len: 65, max: 64 })
        );
        assert!(OpenId::parse(&"a".repeat(64)).is_ok());
    }

    #[test]
    fn slashes_spaces_line_breaks_and_non_ascii_are_refused_where_they_are() {
        for (input, position, found) in [
            ("oDF3/iYx0ro3", 5, '/'),
            ("oDF3 iYx0ro3", 5, ' '),
            ("oDF3\r\niYx0ro3", 5, '\r'),
            ("oDF3中iYx0ro3", 5, '中'),
            ("oDF3iYx0ro3?x=1", 12, '?'),
        ] {
            assert_eq!(
                OpenId::parse(input),
                Err(OpenIdError::BadChar { position, found }),
                "{input:?}"
            );
        }
    }
}
