//! `--shard I/N`: one of N deterministic parts of a job, for cluster job arrays (Slurm's
//! `$SLURM_ARRAY_TASK_ID`, Kubernetes' `$JOB_COMPLETION_INDEX`, both 0-based).
//!
//! The split depends on nothing but the input and N (not on the machine, thread count or
//! batch size): shard I takes the contiguous range `[I·len/N, (I+1)·len/N)` of the items in the
//! order the command processes them, so the shards partition the items, their sizes differ by
//! at most one, and shard outputs concatenated in shard order are in the unsplit order.
//! `rankforge merge` puts the shard outputs back together.

use std::fmt;
use std::ops::Range;
use std::str::FromStr;

/// Shard `index` of `count` (0-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl Shard {
    /// The items of `len` this shard takes: `[index·len/count, (index+1)·len/count)`.
    pub fn range(&self, len: usize) -> Range<usize> {
        let at = |i: usize| (i as u128 * len as u128 / self.count as u128) as usize;
        at(self.index)..at(self.index + 1)
    }

    /// This shard's part of `items`, in their order.
    pub fn slice<'a, T>(&self, items: &'a [T]) -> &'a [T] {
        &items[self.range(items.len())]
    }

    /// Says on stderr which part of the job this is (`what`: "queries", "texts", ...).
    pub fn announce(&self, what: &str, len: usize) {
        let range = self.range(len);
        eprintln!(
            "shard {self}: {what} {}..{} of {len} ({} {what})",
            range.start,
            range.end,
            range.len()
        );
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = String;

    /// `I/N` with `0 <= I < N`.
    fn from_str(value: &str) -> Result<Self, String> {
        let expected = "expected I/N with 0 <= I < N (0-based, as $SLURM_ARRAY_TASK_ID or \
                        $JOB_COMPLETION_INDEX give it), e.g. 0/8 .. 7/8";
        let Some((index, count)) = value.trim().split_once('/') else {
            return Err(format!("`{value}`: {expected}"));
        };
        let number = |part: &str, name: &str| {
            part.trim().parse::<usize>().map_err(|_| {
                format!("`{value}`: {name} `{part}` is not a whole number; {expected}")
            })
        };
        let index = number(index, "I")?;
        let count = number(count, "N")?;
        if count == 0 {
            return Err(format!("`{value}`: N must be at least 1; {expected}"));
        }
        if index >= count {
            return Err(format!(
                "`{value}`: shard {index} does not exist among {count} (shards are numbered 0 to {}); {expected}",
                count - 1
            ));
        }
        Ok(Shard { index, count })
    }
}

/// clap's value parser for `--shard`.
pub fn parse(value: &str) -> Result<Shard, String> {
    value.parse()
}

/// `items` cut to `shard`'s part (all of them without one), announced on stderr.
pub fn select<'a, T>(shard: Option<Shard>, items: &'a [T], what: &str) -> &'a [T] {
    match shard {
        Some(shard) => {
            shard.announce(what, items.len());
            shard.slice(items)
        }
        None => items,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_refuses() {
        assert_eq!(parse("3/8").unwrap(), Shard { index: 3, count: 8 });
        assert_eq!(parse("0/1").unwrap().to_string(), "0/1");
        for bad in ["8/8", "9/8", "0/0", "-1/4", "1", "a/4", "1/b", "", "1/2/3"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn shards_partition_the_items_in_order() {
        for len in [0usize, 1, 2, 5, 7, 100, 101] {
            for count in [1usize, 2, 3, 7, 8, 150] {
                let mut all = Vec::new();
                for index in 0..count {
                    let range = Shard { index, count }.range(len);
                    assert!(range.len() <= len / count + 1);
                    assert!(range.len() >= len / count);
                    all.extend(range);
                }
                assert_eq!(all, (0..len).collect::<Vec<_>>(), "{len} / {count}");
            }
        }
    }
}
