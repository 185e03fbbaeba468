//! What any retry schedule can do against a lock the client cannot see, computed (not measured)
//! from lock lengths drawn as the bench draws them: the floor under the measured figures. A kick
//! PATCHes at fixed offsets after the leg's settle; a refusal says only that the lock is longer,
//! so every schedule, learned or not, is such a list of offsets.

/// The delay beyond the lock and the PATCHes after the settle of a kick that PATCHes at
/// `probes` (offsets from the settle, ascending) under a lock of `lock_ms`; None if none passes.
pub(crate) fn outcome(probes: &[u64], lock_ms: u64) -> Option<(u64, usize)> {
    let i = probes.iter().position(|&t| t >= lock_ms)?;
    Some((probes[i] - lock_ms, i + 1))
}

/// The lowest median beyond of any schedule of `n` PATCHes after the settle that removes every
/// kick of `locks` (so its last is the longest lock), searched on a 5 ms grid; and that schedule.
pub(crate) fn best_median(locks: &[u64], n: usize) -> (u64, Vec<u64>) {
    let (lo, hi) = (
        *locks.iter().min().unwrap_or(&0),
        *locks.iter().max().unwrap_or(&0),
    );
    let grid: Vec<u64> = (lo..hi).step_by(5).collect();
    let mut best = (u64::MAX, Vec::new());
    let mut probes = Vec::with_capacity(n);
    search(
        &grid,
        0,
        n.saturating_sub(1),
        hi,
        locks,
        &mut probes,
        &mut best,
    );
    best
}

fn search(
    grid: &[u64],
    from: usize,
    left: usize,
    last: u64,
    locks: &[u64],
    probes: &mut Vec<u64>,
    best: &mut (u64, Vec<u64>),
) {
    if left == 0 {
        probes.push(last);
        let mut beyond: Vec<u64> = locks
            .iter()
            .filter_map(|&l| outcome(probes, l).map(|(b, _)| b))
            .collect();
        let mid = beyond.len() / 2;
        let median = *beyond.select_nth_unstable(mid).1;
        if median < best.0 {
            *best = (median, probes.clone());
        }
        probes.pop();
        return;
    }
    for i in from..grid.len() {
        probes.push(grid[i]);
        search(grid, i + 1, left - 1, last, locks, probes, best);
        probes.pop();
    }
}

/// The fewest PATCHes after the settle that some kick must send under any schedule whose median
/// beyond is at most `target_ms`. A PATCH removes within the target only the kicks whose lock
/// ended in the `target_ms` before it, so half the kicks need at least this many PATCHes, and a
/// kick whose lock ends just before the last of them was refused by all the others.
pub(crate) fn fewest_patches_for(locks: &[u64], target_ms: u64) -> usize {
    let mut sorted = locks.to_vec();
    sorted.sort_unstable();
    let (mut most, mut j) = (1, 0);
    for i in 0..sorted.len() {
        while sorted[i] - sorted[j] > target_ms {
            j += 1;
        }
        most = most.max(i - j + 1);
    }
    sorted.len().div_ceil(2).div_ceil(most)
}
