//! Partitions: one deterministic slice of a verification, so that N machines
//! check a large release together (`verify --partition I/N`, then `merge`).
//!
//! Every listed file, in listing order, takes `size + 1` places on a line
//! (the 1 gives empty files a place too); a whole file belongs to the slice
//! its first place falls in, and each shard of a sharded file to the slice
//! its own first byte falls in, so the bytes, not the file counts, balance.

use std::fmt;
use std::str::FromStr;

/// The most slices a verification may be split into.
pub const MAX_SLICES: u32 = 100_000;

/// Slice `index` (from 0) of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Partition {
    /// Which slice, from 0 to `count - 1`.
    pub index: u32,
    /// How many slices.
    pub count: u32,
}

impl Partition {
    /// The slice that place `offset` of `total` falls in.
    pub fn slice_of(&self, offset: u64, total: u64) -> u32 {
        if total == 0 {
            return 0;
        }
        let slice = u128::from(offset) * u128::from(self.count) / u128::from(total);
        u32::try_from(slice)
            .unwrap_or(u32::MAX)
            .min(self.count.saturating_sub(1))
    }
}

impl fmt::Display for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for Partition {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let usage = || {
            format!(
                "'{s}' is not a partition: write I/N, slice I (from 0) of N, such as 0/4 to 3/4"
            )
        };
        let (index, count) = s.split_once('/').ok_or_else(usage)?;
        let index: u32 = index.parse().map_err(|_| usage())?;
        let count: u32 = count.parse().map_err(|_| usage())?;
        if count == 0 || count > MAX_SLICES {
            return Err(format!(
                "partition count {count} must be from 1 to {MAX_SLICES}"
            ));
        }
        if index >= count {
            return Err(format!(
                "partition {index}/{count}: slices are numbered from 0 to {}",
                count - 1
            ));
        }
        Ok(Partition { index, count })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_slices_from_zero() {
        assert_eq!(
            "3/4".parse::<Partition>(),
            Ok(Partition { index: 3, count: 4 })
        );
        for bad in ["4/4", "1/0", "a/2", "1", "-1/2", "0/100001"] {
            assert!(bad.parse::<Partition>().is_err(), "{bad}");
        }
    }

    #[test]
    fn every_place_falls_in_one_slice_in_order() {
        let p = Partition { index: 0, count: 3 };
        let slices: Vec<u32> = (0..9).map(|o| p.slice_of(o, 9)).collect();
        assert_eq!(slices, [0, 0, 0, 1, 1, 1, 2, 2, 2]);
        assert_eq!(p.slice_of(100, 9), 2);
    }
}
