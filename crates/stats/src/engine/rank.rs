//! The Mann–Whitney statistic and tie structure of two sorted samples, by one merge (O(m + n)).

/// Rank summary of canary `x` against baseline `y`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct RankStats {
    /// U of the canary: #{xᵢ > yⱼ} + ½ #{xᵢ = yⱼ} (= R₁ − m(m+1)/2 with mid-ranks), exact.
    pub(crate) u: f64,
    /// Σ (t³ − t) over the tie groups of the pooled sample.
    pub(crate) tie_term: f64,
    /// Whether any value occurs more than once in the pooled sample.
    pub(crate) ties: bool,
}

/// A sorted copy (ascending, by numeric order; inputs are finite).
pub(crate) fn sorted(v: &[f64]) -> Vec<f64> {
    let mut s = v.to_vec();
    s.sort_unstable_by(f64::total_cmp);
    s
}

/// Both slices sorted ascending and finite.
pub(crate) fn rank_stats(x: &[f64], y: &[f64]) -> RankStats {
    let (m, n) = (x.len(), y.len());
    let (mut i, mut j) = (0usize, 0usize);
    let mut twice_u: u128 = 0;
    let mut tie_term = 0.0;
    let mut ties = false;
    while i < m || j < n {
        let v = match (x.get(i), y.get(j)) {
            (Some(&a), Some(&b)) => a.min(b),
            (Some(&a), None) => a,
            (None, Some(&b)) => b,
            (None, None) => unreachable!(),
        };
        let i0 = i;
        while i < m && x[i] == v {
            i += 1;
        }
        let j0 = j;
        while j < n && y[j] == v {
            j += 1;
        }
        let (cx, cy) = ((i - i0) as u128, (j - j0) as u128);
        // Each of the cx canary values beats the j0 smaller baseline values and ties with cy.
        twice_u += cx * (2 * j0 as u128 + cy);
        let t = cx + cy;
        if t > 1 {
            ties = true;
            let tf = t as f64;
            tie_term += tf * tf * tf - tf;
        }
    }
    RankStats { u: twice_u as f64 / 2.0, tie_term, ties }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn u_counts_wins_and_half_ties() {
        let r = rank_stats(&[1.0, 2.0, 3.0, 3.0, 4.0, 5.0], &[3.0, 4.0, 5.0, 5.0, 6.0, 7.0, 8.0]);
        // scipy.stats.mannwhitneyu([1,2,3,3,4,5],[3,4,5,5,6,7,8]).statistic == 5.5
        assert_eq!(r.u, 5.5);
        assert!(r.ties);
        // tie groups: 3×3 (t=3), 4×2, 5×3 → 24 + 6 + 24
        assert_eq!(r.tie_term, 54.0);
        let r = rank_stats(&[16.0, 19.0, 22.0, 24.0, 29.0], &[11.0, 12.0, 17.0, 20.0]);
        assert_eq!(r.u, 17.0);
        assert!(!r.ties);
        assert_eq!(r.tie_term, 0.0);
    }
}
