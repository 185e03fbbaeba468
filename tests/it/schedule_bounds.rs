//! The kick-latency bench's schedule bounds (`benches/common/bounds.rs`): a bench's own
//! tests never run, so they run here.

use crate::bounds::{best_median, fewest_patches_for, outcome};

#[test]
fn bounds_of_a_uniform_lock() {
    let locks: Vec<u64> = (200..=800).collect();
    // Two PATCHes, the last at 800: the first at the middle halves the range.
    let (median, probes) = best_median(&locks, 2);
    assert_eq!(probes.last(), Some(&800));
    assert!((145..=155).contains(&median), "{median} {probes:?}");
    // Windows 30 ms wide hold 31 of 601 locks: 301 of them need 10 PATCHes.
    assert_eq!(fewest_patches_for(&locks, 30), 10);
    assert_eq!(outcome(&[300, 420], 400), Some((20, 2)));
    assert_eq!(outcome(&[300], 400), None);
}
