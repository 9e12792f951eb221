//! Follower OpenIDs as a reversible encoding of the follower's index.
//!
//! A million followers must not cost a million `String`s, so the simulator never stores an OpenID:
//! it computes one from the index and decodes it back. The result looks like a real OpenID
//! ("o" + 27 characters of `[A-Za-z0-9_-]`, 28 in all) and carries a check derived from the AppID,
//! so a typo, a tampered character or another account's OpenID is not one of ours.
//!
//! The tag API answers 49003 ("openid does not belong to this AppID") for another account's OpenID
//! and 40003 for garbage, so the two must be told apart without knowing the other AppID. Real
//! WeChat knows every account; the simulator instead seals every OpenID it makes, for whichever
//! AppID, with a checksum that does not depend on the AppID: a string whose seal holds but whose
//! AppID check fails was made by the simulator for another account ([`Decoded::OtherAccount`]);
//! anything else that fails is [`Decoded::Malformed`], a typo or tampering included.
//!
//! Layout of the 20 encoded bytes: `mix(index)` (8 bytes, a bijection keyed by the AppID, so
//! consecutive followers do not get consecutive-looking ids), 8 check bytes hashed from the AppID
//! and the index, then the 4-byte seal hashed from the 16 bytes before it.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Length of every simulated OpenID, like real ones.
pub(crate) const OPENID_LEN: usize = 28;
const RAW_LEN: usize = 20;
/// Where the AppID check ends and the seal begins.
const SEALED_LEN: usize = 16;
/// Keys the seal; the same for every AppID, which is the point of it.
const SEAL_KEY: u64 = 0x5ea1_5ea1_0000_0001;

// Odd multipliers (from splitmix64 / murmur3's finaliser): odd means invertible modulo 2^64.
const M1: u64 = 0xbf58_476d_1ce4_e5b9;
const M2: u64 = 0x94d0_49bb_1331_11eb;

/// What a string given as an OpenID turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decoded {
    /// This account's OpenID of the follower with this index (who may or may not follow).
    Ours(u32),
    /// A well-formed OpenID the simulator made for another AppID.
    OtherAccount,
    /// Not an OpenID at all, or one with a character changed.
    Malformed,
}

/// Encodes and decodes the OpenIDs of one account.
#[derive(Debug, Clone)]
pub(crate) struct OpenIdCodec {
    /// Keyed by the AppID so that two simulated accounts never share an OpenID.
    key: u64,
}

impl OpenIdCodec {
    pub(crate) fn new(appid: &str) -> Self {
        Self {
            key: hash_bytes(appid.as_bytes()),
        }
    }

    /// The OpenID of the `index`-th follower.
    pub(crate) fn encode(&self, index: u32) -> String {
        let mut raw = [0u8; RAW_LEN];
        raw[..8].copy_from_slice(&mix(u64::from(index) ^ self.key).to_be_bytes());
        raw[8..SEALED_LEN].copy_from_slice(&self.check(index));
        let seal = seal(&raw[..SEALED_LEN]);
        raw[SEALED_LEN..].copy_from_slice(&seal);
        let mut out = String::with_capacity(OPENID_LEN);
        out.push('o');
        URL_SAFE_NO_PAD.encode_string(raw, &mut out);
        out
    }

    /// The follower index an OpenID stands for, or `None` when it is not one of ours.
    ///
    /// Never panics, whatever the input: this runs on what clients send.
    pub(crate) fn decode(&self, openid: &str) -> Option<u32> {
        match self.classify(openid) {
            Decoded::Ours(index) => Some(index),
            Decoded::OtherAccount | Decoded::Malformed => None,
        }
    }

    /// What `openid` is: ours (and whose), another account's, or garbage.
    ///
    /// Never panics, whatever the input: this runs on what clients send.
    pub(crate) fn classify(&self, openid: &str) -> Decoded {
        let Some(raw) = raw_bytes(openid) else {
            return Decoded::Malformed;
        };
        if raw[SEALED_LEN..] != seal(&raw[..SEALED_LEN]) {
            return Decoded::Malformed;
        }
        let mut head = [0u8; 8];
        head.copy_from_slice(&raw[..8]);
        match u32::try_from(unmix(u64::from_be_bytes(head)) ^ self.key) {
            Ok(index) if raw[8..SEALED_LEN] == self.check(index) => Decoded::Ours(index),
            _ => Decoded::OtherAccount,
        }
    }

    fn check(&self, index: u32) -> [u8; 8] {
        splitmix(self.key ^ u64::from(index).wrapping_mul(M2)).to_be_bytes()
    }
}

/// The 20 bytes behind an OpenID's 27 characters after the "o", if it has that shape.
fn raw_bytes(openid: &str) -> Option<[u8; RAW_LEN]> {
    let body = openid.strip_prefix('o')?;
    if openid.len() != OPENID_LEN {
        return None;
    }
    // A little room to spare: the engine decides by itself how much 27 characters decode to.
    let mut raw = [0u8; RAW_LEN + 4];
    // The base64 engine refuses non-zero trailing bits, so each index has exactly one
    // spelling: changing the last character's low bits is a different (invalid) OpenID.
    let n = URL_SAFE_NO_PAD.decode_slice(body, &mut raw).ok()?;
    if n != RAW_LEN {
        return None;
    }
    let mut out = [0u8; RAW_LEN];
    out.copy_from_slice(&raw[..RAW_LEN]);
    Some(out)
}

/// The AppID-independent checksum that ends every simulated OpenID.
fn seal(sealed: &[u8]) -> [u8; RAW_LEN - SEALED_LEN] {
    let mut out = [0u8; RAW_LEN - SEALED_LEN];
    out.copy_from_slice(&splitmix(hash_bytes(sealed) ^ SEAL_KEY).to_be_bytes()[..4]);
    out
}

/// A bijection on `u64`: multiply by odd constants and xor-shift, each step invertible.
fn mix(mut x: u64) -> u64 {
    x ^= x >> 31;
    x = x.wrapping_mul(M1);
    x ^= x >> 29;
    x = x.wrapping_mul(M2);
    x ^= x >> 32;
    x
}

fn unmix(mut x: u64) -> u64 {
    x = unxorshift(x, 32);
    x = x.wrapping_mul(inverse(M2));
    x = unxorshift(x, 29);
    x = x.wrapping_mul(inverse(M1));
    x = unxorshift(x, 31);
    x
}

/// Inverts `x ^= x >> shift`: each pass recovers `shift` more of the high bits.
fn unxorshift(y: u64, shift: u32) -> u64 {
    let mut x = y;
    let mut covered = shift;
    while covered < 64 {
        x = y ^ (x >> shift);
        covered += shift;
    }
    x
}

/// The multiplicative inverse of an odd number modulo 2^64 (Newton's iteration: each step doubles
/// the number of correct low bits, 3 → 6 → … → 96).
const fn inverse(a: u64) -> u64 {
    let mut x = a; // correct to 3 bits for any odd a
    let mut i = 0;
    while i < 5 {
        x = x.wrapping_mul(2u64.wrapping_sub(a.wrapping_mul(x)));
        i += 1;
    }
    x
}

/// splitmix64's finaliser: a fast, well-spread hash of one word.
pub(crate) fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(M1);
    z = (z ^ (z >> 27)).wrapping_mul(M2);
    z ^ (z >> 31)
}

/// A stable hash of a byte string (FNV-1a, then splitmix to spread it). `std`'s `DefaultHasher`
/// is not promised to stay the same across Rust releases, and OpenIDs should.
fn hash_bytes(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    splitmix(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codec() -> OpenIdCodec {
        OpenIdCodec::new("wxdemo0000000000")
    }

    #[test]
    fn the_mix_is_inverted_by_unmix() {
        for x in [
            0,
            1,
            2,
            99,
            u64::from(u32::MAX),
            u64::MAX,
            0x0123_4567_89ab_cdef,
        ] {
            assert_eq!(unmix(mix(x)), x, "{x:#x}");
        }
        assert_eq!(M1.wrapping_mul(inverse(M1)), 1);
        assert_eq!(M2.wrapping_mul(inverse(M2)), 1);
    }

    #[test]
    fn an_openid_decodes_back_to_its_index() {
        let c = codec();
        for i in (0..5_000).chain([999_999, 1_000_000, u32::MAX - 1, u32::MAX]) {
            let id = c.encode(i);
            assert_eq!(c.decode(&id), Some(i), "{id}");
        }
    }

    #[test]
    fn an_openid_looks_like_a_real_one() {
        let id = codec().encode(42);
        assert_eq!(id.len(), 28);
        assert!(id.starts_with('o'));
        assert!(
            id.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        );
        // Also usable by the app's own parser.
        assert!(crate::domain::OpenId::parse(&id).is_ok());
    }

    #[test]
    fn neighbouring_followers_do_not_get_similar_openids() {
        let c = codec();
        let (a, b) = (c.encode(7), c.encode(8));
        let same = a.bytes().zip(b.bytes()).filter(|(x, y)| x == y).count();
        assert!(same < 10, "{a} vs {b}");
    }

    #[test]
    fn changing_any_single_character_makes_the_openid_unknown() {
        let c = codec();
        let id = c.encode(123);
        for pos in 0..id.len() {
            for replacement in ['A', 'z', '0', '_', '-'] {
                let mut chars: Vec<char> = id.chars().collect();
                if chars[pos] == replacement {
                    continue;
                }
                chars[pos] = replacement;
                let tampered: String = chars.into_iter().collect();
                assert_eq!(c.classify(&tampered), Decoded::Malformed, "{tampered}");
            }
        }
    }

    #[test]
    fn another_accounts_openids_are_unknown() {
        let ours = codec();
        let theirs = OpenIdCodec::new("wx1234567890abcdef");
        for i in (0..1_000).chain([u32::MAX]) {
            assert_eq!(ours.decode(&theirs.encode(i)), None);
            assert_eq!(ours.classify(&theirs.encode(i)), Decoded::OtherAccount);
            assert_ne!(ours.encode(i), theirs.encode(i));
        }
    }

    #[test]
    fn our_own_openids_classify_as_ours_whether_or_not_the_index_follows() {
        let c = codec();
        for i in [0, 7, 1_000_000, u32::MAX] {
            assert_eq!(c.classify(&c.encode(i)), Decoded::Ours(i));
        }
    }

    #[test]
    fn garbage_is_unknown_and_never_panics() {
        let c = codec();
        let long = "o".repeat(500);
        for s in [
            "",
            "o",
            "od8XIjsmk6QdVTETa9jLtGWA6KBc",
            "x0000000000000000000000000000",
            "o00000000000000000000000000=",
            "o测试测试测试测试测",
            long.as_str(),
            "o+/+/+/+/+/+/+/+/+/+/+/+/+/+",
        ] {
            assert_eq!(c.classify(s), Decoded::Malformed, "{s}");
        }
    }
}
