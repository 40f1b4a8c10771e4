//! The SHA-256 digest: the value every listing, manifest and signature
//! compares, written as 64 lowercase hex digits.

use sha2::{Digest as _, Sha256};
use std::fmt;
use std::str::FromStr;

/// A SHA-256 digest, written as 64 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sha256Digest(pub [u8; 32]);

impl Sha256Digest {
    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        Sha256Digest(Sha256::digest(bytes).into())
    }

    /// The lowercase hex form.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Display for Sha256Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Sha256Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sha256Digest({})", self.to_hex())
    }
}

/// A string that is not exactly 64 lowercase hex digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not a SHA-256 digest: expected exactly 64 lowercase hex digits")]
pub struct BadDigest(pub String);

impl FromStr for Sha256Digest {
    type Err = BadDigest;
    fn from_str(s: &str) -> Result<Self, BadDigest> {
        // Lowercase only: one digest has one spelling, so manifests compare byte for byte.
        // One pass that checks and decodes: a large manifest holds millions.
        fn nibble(b: u8) -> Option<u8> {
            match b {
                b'0'..=b'9' => Some(b - b'0'),
                b'a'..=b'f' => Some(b - b'a' + 10),
                _ => None,
            }
        }
        let bad = || BadDigest(s.chars().take(80).collect());
        let bytes: &[u8; 64] = s.as_bytes().try_into().map_err(|_| bad())?;
        let mut out = [0u8; 32];
        for (byte, pair) in out.iter_mut().zip(bytes.chunks_exact(2)) {
            let (Some(high), Some(low)) = (nibble(pair[0]), nibble(pair[1])) else {
                return Err(bad());
            };
            *byte = high << 4 | low;
        }
        Ok(Sha256Digest(out))
    }
}

impl serde::Serialize for Sha256Digest {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> serde::Deserialize<'de> for Sha256Digest {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // A visitor rather than `String`: a manifest holds one digest per file,
        // and an allocation each is measurable at 100,000 files.
        struct HexVisitor;
        impl serde::de::Visitor<'_> for HexVisitor {
            type Value = Sha256Digest;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("64 lowercase hex digits")
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Sha256Digest, E> {
                s.parse().map_err(E::custom)
            }
        }
        d.deserialize_str(HexVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_parses_only_lowercase_hex_of_64_digits() {
        let good = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        assert_eq!(good.parse::<Sha256Digest>().unwrap().to_hex(), good);
        assert!(good.to_uppercase().parse::<Sha256Digest>().is_err());
        assert!(good[..63].parse::<Sha256Digest>().is_err());
        assert!(format!("{good}0").parse::<Sha256Digest>().is_err());
        assert!(good.replace('e', "g").parse::<Sha256Digest>().is_err());
        // 64 bytes, but not 64 hex digits: a two-byte character in place of two.
        let wide = format!("é{}", &good[2..]);
        assert_eq!(wide.len(), 64);
        assert!(wide.parse::<Sha256Digest>().is_err());
        // Every byte value decodes to itself.
        let all: String = (0..32u8).map(|b| format!("{:02x}", b * 8 + 7)).collect();
        let parsed = all.parse::<Sha256Digest>().unwrap();
        assert_eq!(
            parsed.0.to_vec(),
            (0..32u8).map(|b| b * 8 + 7).collect::<Vec<_>>()
        );
    }
}
