//! Multiple-testing correction: adjusted p-values (compare each with α).

use super::config::Correction;

/// Adjusted p-values, in the order given. Holm: p̃₍ᵢ₎ = maxⱼ≤ᵢ min(1, (k − j + 1) p₍ⱼ₎). Benjamini–Hochberg:
/// p̃₍ᵢ₎ = minⱼ≥ᵢ min(1, k p₍ⱼ₎ / j). Ties are ordered by position, which does not change the result.
pub fn adjust_p_values(p: &[f64], correction: Correction) -> Vec<f64> {
    let k = p.len();
    let mut order: Vec<usize> = (0..k).collect();
    order.sort_by(|&a, &b| p[a].total_cmp(&p[b]).then(a.cmp(&b)));
    let mut out = vec![0.0; k];
    match correction {
        Correction::None => out.copy_from_slice(p),
        Correction::Holm => {
            let mut running = 0.0_f64;
            for (rank, &i) in order.iter().enumerate() {
                running = running.max(((k - rank) as f64 * p[i]).min(1.0));
                out[i] = running;
            }
        }
        Correction::BenjaminiHochberg => {
            let mut running = 1.0_f64;
            for (rank, &i) in order.iter().enumerate().rev() {
                running = running.min((k as f64 * p[i] / (rank + 1) as f64).min(1.0));
                out[i] = running;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holm_hand_computed() {
        let p = [0.01, 0.04, 0.03, 0.005];
        // sorted: 0.005·4 = 0.02, 0.01·3 = 0.03, 0.03·2 = 0.06, 0.04·1 → max(0.06, 0.04) = 0.06
        let a = adjust_p_values(&p, Correction::Holm);
        let want = [0.03, 0.06, 0.06, 0.02];
        for (x, y) in a.iter().zip(want) {
            assert!((x - y).abs() < 1e-15, "{a:?}");
        }
    }

    #[test]
    fn bh_hand_computed() {
        let p = [0.01, 0.04, 0.03, 0.005];
        // sorted: 0.005·4/1 = 0.02, 0.01·4/2 = 0.02, 0.03·4/3 = 0.04, 0.04·4/4 = 0.04
        let a = adjust_p_values(&p, Correction::BenjaminiHochberg);
        let want = [0.02, 0.04, 0.04, 0.02];
        for (x, y) in a.iter().zip(want) {
            assert!((x - y).abs() < 1e-15, "{a:?}");
        }
    }

    #[test]
    fn caps_at_one_and_handles_empty() {
        assert_eq!(adjust_p_values(&[0.6, 0.9], Correction::Holm), [1.0, 1.0]);
        assert_eq!(adjust_p_values(&[0.6, 0.9], Correction::None), [0.6, 0.9]);
        assert!(adjust_p_values(&[], Correction::BenjaminiHochberg).is_empty());
    }
}
