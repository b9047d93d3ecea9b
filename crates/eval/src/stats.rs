//! Paired significance tests over per-query values of two systems on the same queries.
//!
//! Both are two-sided tests of "the mean per-query difference is 0":
//! * [`paired_t_test`]: Student's paired t-test (scipy `ttest_rel`), the t distribution's tail
//!   from `statrs`.
//! * [`paired_randomization_test`]: Fisher's randomisation (sign-flip permutation) test with the
//!   mean difference as statistic, the test Smucker, Allan & Carterette (CIKM 2007) recommend for
//!   IR. It enumerates all 2^m sign assignments of the m queries whose values differ when that
//!   is no more than the permutations asked for (an exact test, as scipy `permutation_test`
//!   does), and otherwise draws that many at random from a seeded generator, so the same seed
//!   gives the same p-value.

use rankforge_kernels::seed::SplitMix64;
use statrs::distribution::{ContinuousCDF, StudentsT};

/// Result of a paired t-test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TTest {
    /// t = mean(d) / (sd(d) / √n), d = a − b, sd with n − 1 degrees of freedom.
    pub t: f64,
    /// Degrees of freedom, n − 1.
    pub degrees_of_freedom: usize,
    /// Two-sided p-value, 2 · P(T ≥ |t|).
    pub p_value: f64,
}

/// Paired two-sided t-test of `a` against `b` (same queries, same order), as scipy's
/// `ttest_rel(a, b)`. `None` when there are fewer than two pairs or the lengths differ.
///
/// When every difference is the same (zero variance) scipy answers NaN; here the answer is
/// p = 1 (t = 0) if the differences are all 0 — the systems do not differ — and p = 0
/// (t = ±∞) otherwise.
pub fn paired_t_test(a: &[f64], b: &[f64]) -> Option<TTest> {
    if a.len() != b.len() || a.len() < 2 {
        return None;
    }
    let n = a.len() as f64;
    let differences: Vec<f64> = a.iter().zip(b).map(|(x, y)| x - y).collect();
    let mean = differences.iter().sum::<f64>() / n;
    let variance = differences
        .iter()
        .map(|d| (d - mean) * (d - mean))
        .sum::<f64>()
        / (n - 1.0);
    let degrees_of_freedom = a.len() - 1;
    if variance == 0.0 {
        let (t, p_value) = if mean == 0.0 {
            (0.0, 1.0)
        } else {
            (mean.signum() * f64::INFINITY, 0.0)
        };
        return Some(TTest {
            t,
            degrees_of_freedom,
            p_value,
        });
    }
    let t = mean / (variance / n).sqrt();
    let distribution = StudentsT::new(0.0, 1.0, degrees_of_freedom as f64)
        .expect("location 0, scale 1 and positive degrees of freedom are valid");
    let p_value = (2.0 * distribution.sf(t.abs())).min(1.0);
    Some(TTest {
        t,
        degrees_of_freedom,
        p_value,
    })
}

/// Sums within this fraction of Σ|dᵢ| (the largest a sign-flipped sum can be) of the observed
/// one count as equal to it, so that assignments tied with the observed statistic up to
/// rounding count as "as extreme".
const TIE_TOLERANCE: f64 = 1e-9;

/// Paired two-sided randomisation test of `a` against `b`: the p-value of |mean(a − b)| under
/// random sign flips of the differences. `None` when the lengths differ, there are no pairs or
/// `permutations` is 0.
///
/// Queries where the two values are equal cannot change the statistic, so only the m queries
/// that differ are flipped (the p-value is the same as flipping all n):
/// * If 2^m ≤ `permutations`, all 2^m assignments are enumerated and p = (number with
///   |statistic| ≥ |observed|) / 2^m — the exact p-value, as scipy
///   `permutation_test(..., permutation_type="samples", n_resamples=inf)` gives. With m = 0
///   (identical values) p = 1.
/// * Otherwise `permutations` assignments are drawn with a SplitMix64 generator seeded by
///   `seed` and p = (count + 1) / (permutations + 1), counting the observed assignment, so p
///   is never 0 (Phipson & Smyth 2010; scipy's Monte-Carlo convention).
pub fn paired_randomization_test(
    a: &[f64],
    b: &[f64],
    permutations: usize,
    seed: u64,
) -> Option<f64> {
    if a.len() != b.len() || a.is_empty() || permutations == 0 {
        return None;
    }
    let differences: Vec<f64> = a
        .iter()
        .zip(b)
        .map(|(x, y)| x - y)
        .filter(|&d| d != 0.0)
        .collect();
    let m = differences.len();
    if m == 0 {
        return Some(1.0);
    }
    // A flipped assignment's sum is total − 2 · (sum of the flipped differences).
    let total: f64 = differences.iter().sum();
    let scale: f64 = differences.iter().map(|d| d.abs()).sum();
    let threshold = total.abs() - TIE_TOLERANCE * scale;
    let is_extreme = |flipped: f64| (total - 2.0 * flipped).abs() >= threshold;

    if m < 63 && (1u64 << m) <= permutations as u64 {
        let assignments = 1u64 << m;
        let extreme = (0..assignments)
            .filter(|&signs| is_extreme(sum_selected(&differences, 0, signs)))
            .count();
        return Some(extreme as f64 / assignments as f64);
    }
    let mut rng = SplitMix64::new(seed);
    let mut extreme = 0usize;
    for _ in 0..permutations {
        let flipped: f64 = (0..m)
            .step_by(64)
            .map(|start| sum_selected(&differences, start, rng.next_u64()))
            .sum();
        if is_extreme(flipped) {
            extreme += 1;
        }
    }
    Some((extreme + 1) as f64 / (permutations + 1) as f64)
}

/// Σ differences[start + j] over the set bits j of `bits` (bits past the end are ignored).
fn sum_selected(differences: &[f64], start: usize, mut bits: u64) -> f64 {
    let chunk = &differences[start..differences.len().min(start + 64)];
    if chunk.len() < 64 {
        bits &= (1u64 << chunk.len()) - 1;
    }
    let mut sum = 0.0;
    while bits != 0 {
        sum += chunk[bits.trailing_zeros() as usize];
        bits &= bits - 1;
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t_test_degenerate_cases() {
        assert_eq!(paired_t_test(&[1.0], &[0.0]), None);
        assert_eq!(paired_t_test(&[1.0, 2.0], &[0.0]), None);
        let same = paired_t_test(&[0.5, 0.25, 1.0], &[0.5, 0.25, 1.0]).unwrap();
        assert_eq!((same.t, same.p_value), (0.0, 1.0));
        let shifted = paired_t_test(&[1.0, 1.0, 1.0], &[0.0, 0.0, 0.0]).unwrap();
        assert_eq!(shifted.p_value, 0.0);
        assert_eq!(shifted.t, f64::INFINITY);
    }

    #[test]
    fn randomization_identical_systems_give_one() {
        let a = vec![0.3; 40];
        assert_eq!(paired_randomization_test(&a, &a, 1000, 1), Some(1.0));
        // 2 differing queries of 40: exact over 2^2 assignments. Opposite differences cancel
        // (observed 0, p = 1); equal ones reach |observed| in 2 assignments of 4.
        let mut b = a.clone();
        b[3] = 0.5;
        b[17] = 0.1;
        assert_eq!(paired_randomization_test(&a, &b, 1000, 1), Some(1.0));
        b[17] = 0.5;
        assert_eq!(paired_randomization_test(&a, &b, 1000, 1), Some(0.5));
        assert_eq!(
            paired_randomization_test(&a[..5], &a[..5], 1000, 1),
            Some(1.0)
        );
        assert_eq!(paired_randomization_test(&[], &[], 1000, 1), None);
        assert_eq!(paired_randomization_test(&a, &a, 0, 1), None);
    }

    #[test]
    fn randomization_monte_carlo_is_seeded_and_close_to_exact() {
        let a: Vec<f64> = (0..16).map(|i| ((i * 7) % 11) as f64 / 10.0).collect();
        let b: Vec<f64> = (0..16).map(|i| ((i * 5) % 13) as f64 / 12.0).collect();
        let exact = paired_randomization_test(&a, &b, 1 << 16, 0).unwrap();
        let sampled = paired_randomization_test(&a, &b, 20_000, 42).unwrap();
        assert_eq!(
            sampled,
            paired_randomization_test(&a, &b, 20_000, 42).unwrap()
        );
        assert!(
            (exact - sampled).abs() < 0.02,
            "exact {exact}, sampled {sampled}"
        );
    }

    #[test]
    fn randomization_detects_a_clear_difference() {
        let a: Vec<f64> = (0..100).map(|i| 0.5 + (i % 7) as f64 / 100.0).collect();
        let b: Vec<f64> = a.iter().map(|x| x - 0.1).collect();
        let p = paired_randomization_test(&a, &b, 10_000, 7).unwrap();
        assert_eq!(p, 1.0 / 10_001.0);
    }
}
