//! Every piece of UI text, in Simplified Chinese and English, from one catalogue.
//!
//! The catalogue is the YAML files beside this module (compiled in by `rust_i18n::i18n!` in
//! `lib.rs`): `app.yml` for the pages, `wechat.yml` for the upstream's error codes. The operator's
//! language comes from the switcher's cookie, then `Accept-Language`, then Chinese.

use std::fmt;

/// The two languages the UI speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Zh,
    En,
}

impl Lang {
    /// The name of the cookie that remembers the switcher's choice.
    pub const COOKIE: &'static str = "wxgroups_lang";

    /// The catalogue's locale code (also the page's `lang` attribute).
    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    /// Reads a value as written in the switcher's cookie or query (`zh-CN`, `zh`, `en`, …).
    pub fn from_tag(tag: &str) -> Option<Self> {
        let primary = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "zh" => Some(Lang::Zh),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// Picks the best language from an `Accept-Language` header, honouring q-values.
    pub fn from_accept_language(header: &str) -> Option<Self> {
        let mut best: Option<(f32, usize, Lang)> = None;
        for (pos, part) in header.split(',').enumerate() {
            let mut pieces = part.split(';');
            let Some(tag) = pieces.next() else { continue };
            let q = pieces
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            let Some(lang) = Lang::from_tag(tag) else {
                continue;
            };
            if q <= 0.0 {
                continue;
            }
            // Higher q wins; on a tie the earlier entry wins.
            if best.is_none_or(|(bq, _, _)| q > bq) {
                best = Some((q, pos, lang));
            }
        }
        best.map(|(_, _, l)| l)
    }

    /// The other language, for the switcher's link.
    pub fn other(self) -> Self {
        match self {
            Lang::Zh => Lang::En,
            Lang::En => Lang::Zh,
        }
    }

    /// Looks up a catalogue entry with no arguments.
    pub fn t(self, key: &str) -> String {
        rust_i18n::t!(key, locale = self.code()).into_owned()
    }

    /// Looks up `key` in the words of `variant` (`tags`): the entry `variant:key` where the
    /// catalogue has one (`tags.yml` says "标签" where `app.yml` says "分组"), else `key`.
    pub fn t_in(self, variant: &str, key: &str) -> String {
        self.key_in(variant, key)
            .map_or_else(|| self.t(key), |k| self.t(&k))
    }

    /// `variant:key` when the catalogue has it, for callers that pass arguments themselves.
    ///
    /// Every page asks this for each of its texts, so the common answer ("no such entry") costs
    /// one set lookup and no allocation: the overridden keys are read once from `tags.yml`.
    pub fn key_in(self, variant: &str, key: &str) -> Option<String> {
        (variant == "tags" && tag_overrides().contains(key)).then(|| format!("tags:{key}"))
    }
}

/// The keys `tags.yml` gives words of their own to (its entries `"tags:KEY":`).
///
/// rust-i18n compiles the catalogue in but cannot list its keys, so this reads the same file's
/// entry lines: each starts at the beginning of a line with `"tags:` (the file's own format,
/// checked by the test below against the catalogue).
fn tag_overrides() -> &'static std::collections::HashSet<&'static str> {
    static KEYS: std::sync::OnceLock<std::collections::HashSet<&'static str>> =
        std::sync::OnceLock::new();
    KEYS.get_or_init(|| {
        include_str!("tags.yml")
            .lines()
            .filter_map(|l| l.strip_prefix("\"tags:")?.split_once("\":"))
            .map(|(key, _)| key)
            .collect()
    })
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Every key of the catalogue, for the completeness test.
#[cfg(test)]
fn all_keys() -> Vec<&'static str> {
    let yaml = concat!(include_str!("app.yml"), "\n", include_str!("wechat.yml"));
    yaml.lines()
        .filter(|l| !l.starts_with(' ') && !l.starts_with('#') && !l.starts_with('_'))
        .filter_map(|l| l.strip_suffix(':'))
        .map(|k| &*Box::leak(k.trim_matches('"').to_owned().into_boxed_str()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tags_override_read_from_the_file_is_in_the_catalogue_and_has_a_base_entry() {
        let keys = tag_overrides();
        assert!(keys.len() > 30, "{} overrides", keys.len());
        for key in keys {
            for lang in [Lang::Zh, Lang::En] {
                let over = format!("tags:{key}");
                assert!(
                    crate::_rust_i18n_try_translate(lang.code(), &over).is_some(),
                    "{over} in {lang}"
                );
                assert!(
                    crate::_rust_i18n_try_translate(lang.code(), key).is_some(),
                    "{key} overrides nothing in {lang}"
                );
            }
        }
        assert_eq!(Lang::En.t_in("tags", "groups.title"), "User tags");
        assert_eq!(
            Lang::En.t_in("tags", "groups.refresh"),
            Lang::En.t("groups.refresh")
        );
        assert_eq!(Lang::Zh.key_in("groups", "groups.title"), None);
    }

    #[test]
    fn accept_language_prefers_the_highest_q() {
        assert_eq!(
            Lang::from_accept_language("en-US,en;q=0.9,zh-CN;q=0.8"),
            Some(Lang::En)
        );
        assert_eq!(
            Lang::from_accept_language("fr-FR, zh-TW;q=0.5, en;q=0.4"),
            Some(Lang::Zh)
        );
        assert_eq!(
            Lang::from_accept_language("de;q=1, en;q=0"),
            None,
            "q=0 means 'not this one'"
        );
        assert_eq!(Lang::from_accept_language("garbage;;;q=x"), None);
    }

    #[test]
    fn every_catalogue_key_exists_in_both_languages() {
        let keys = all_keys();
        assert!(keys.len() > 20, "the catalogue parser found only {keys:?}");
        for key in keys {
            for lang in [Lang::Zh, Lang::En] {
                let text = lang.t(key);
                // rust-i18n answers a missing entry with the key itself.
                assert!(!text.ends_with(key), "{key} is missing in {lang}");
            }
        }
    }
}
