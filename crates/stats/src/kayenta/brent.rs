//! Brent's root finder as Kayenta uses it: `KayentaBrentSolver.brentDirect`, a line-by-line Java port of R's
//! `R_zeroin2` (`src/library/stats/src/zeroin.c`, itself from netlib's `zeroin.c`).
//!
//! The iteration logic is reproduced exactly, including the two details that make Kayenta's intervals what
//! they are: the tolerance is **absolute** (`tol_act = 2·EPS·|b| + tol/2` with `tol = 1e-4`, so for metrics
//! whose spread is below ~1e-3 the interval is solver noise), and inside the loop a function value counts as
//! zero when it is within one ULP of 0 (`Precision.equals(fb, 0)`), whereas the endpoint test before the loop
//! is an exact `== 0.0`. The loop runs `max_iter + 1` times (`maxit = 1000 + 1; while (maxit-- > 0)`).

/// `EPSILON` as written in `brentDirect` (2.220446049250313E-16, i.e. `f64::EPSILON`).
const EPS: f64 = 2.220446049250313E-16;

/// commons-math `Precision.equals(x, y)`: equal within one ULP (and neither is NaN).
pub fn precision_equals(x: f64, y: f64) -> bool {
    const MAX_ULPS: i64 = 1;
    // Double.doubleToRawLongBits, compared as Java longs.
    let x_int = x.to_bits() as i64;
    let y_int = y.to_bits() as i64;
    let is_equal = if (x_int ^ y_int) & i64::MIN == 0 {
        // Same sign: no risk of overflow.
        (x_int - y_int).abs() <= MAX_ULPS
    } else {
        // Opposite signs: measure both distances from zero.
        let positive_zero = 0.0f64.to_bits() as i64;
        let negative_zero = (-0.0f64).to_bits() as i64;
        let (delta_plus, delta_minus) = if x_int < y_int {
            (y_int.wrapping_sub(positive_zero), x_int.wrapping_sub(negative_zero))
        } else {
            (x_int.wrapping_sub(positive_zero), y_int.wrapping_sub(negative_zero))
        };
        if delta_plus > MAX_ULPS { false } else { delta_minus <= MAX_ULPS - delta_plus }
    };
    is_equal && !x.is_nan() && !y.is_nan()
}

/// Finds a zero of `f` in `[ax, bx]` given `fa = f(ax)` and `fb = f(bx)`, exactly as
/// `KayentaBrentSolver.brentDirect` does (with `tol` and `max_iter` as parameters; Kayenta uses
/// [`super::SOLVER_TOLERANCE`] and [`super::SOLVER_MAX_ITER`]).
///
/// Like R's `zeroin` it does not check that the interval brackets a root; without a sign change it still
/// returns a point of the interval (Kayenta relies on this for the estimate). An error returned by `f` is
/// passed through unchanged (Kayenta's z-function throws when all observations are tied).
pub fn zeroin<E>(
    ax: f64,
    bx: f64,
    fa: f64,
    fb: f64,
    mut f: impl FnMut(f64) -> Result<f64, E>,
    tol: f64,
    max_iter: usize,
) -> Result<f64, E> {
    let mut a = ax;
    let mut b = bx;
    let mut fa = fa;
    let mut fb = fb;
    let mut c = a;
    let mut fc = fa;

    // First test if we have found a root at an endpoint.
    if fa == 0.0 {
        return Ok(a);
    }
    if fb == 0.0 {
        return Ok(b);
    }

    let mut maxit = max_iter.saturating_add(1);
    while maxit > 0 {
        maxit -= 1;
        // Distance from the last but one to the last approximation.
        let prev_step = b - a;

        if fc.abs() < fb.abs() {
            // Swap data for b to be the best approximation.
            a = b;
            b = c;
            c = a;
            fa = fb;
            fb = fc;
            fc = fa;
        }
        let tol_act = 2.0 * EPS * b.abs() + tol / 2.0;
        let mut new_step = (c - b) / 2.0;

        if new_step.abs() <= tol_act || precision_equals(fb, 0.0) {
            return Ok(b);
        }

        // Decide if the interpolation can be tried: prev_step was large enough and in the true direction.
        if prev_step.abs() >= tol_act && fa.abs() > fb.abs() {
            let cb = c - b;
            let mut p;
            let mut q;
            if a == c {
                // Only two distinct points: linear interpolation.
                let t1 = fb / fa;
                p = cb * t1;
                q = 1.0 - t1;
            } else {
                // Inverse quadratic interpolation.
                q = fa / fc;
                let t1 = fb / fc;
                let t2 = fb / fa;
                p = t2 * (cb * q * (q - t1) - (b - a) * (t1 - 1.0));
                q = (q - 1.0) * (t1 - 1.0) * (t2 - 1.0);
            }
            // p was computed with the opposite sign: make p positive and give q the sign.
            if p > 0.0 {
                q = -q;
            } else {
                p = -p;
            }

            // Accept b + p/q if it falls in [b, c] and is not too large.
            if p < (0.75 * cb * q - (tol_act * q).abs() / 2.0) && p < (prev_step * q / 2.0).abs() {
                new_step = p / q;
            }
        }

        // Adjust the step to be not less than the tolerance.
        if new_step.abs() < tol_act {
            new_step = if new_step > 0.0 { tol_act } else { -tol_act };
        }
        // Save the previous approximation.
        a = b;
        fa = fb;
        b += new_step;
        fb = f(b)?;
        if (fb > 0.0 && fc > 0.0) || (fb < 0.0 && fc < 0.0) {
            // Adjust c for it to have a sign opposite to that of b.
            c = a;
            fc = fa;
        }
    }
    // Failed to converge: return the last approximation, as R and Kayenta do.
    Ok(b)
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use super::*;

    #[track_caller]
    fn solve(ax: f64, bx: f64, f: impl Fn(f64) -> f64, tol: f64) -> f64 {
        let (fa, fb) = (f(ax), f(bx));
        let res: Result<f64, Infallible> = zeroin(ax, bx, fa, fb, |x| Ok(f(x)), tol, 1000);
        match res {
            Ok(x) => x,
            Err(never) => match never {},
        }
    }

    #[test]
    fn finds_sqrt2_to_the_absolute_tolerance() {
        let root = solve(0.0, 2.0, |x| x * x - 2.0, 1e-4);
        assert!((root - std::f64::consts::SQRT_2).abs() < 1e-4, "{root}");
        let tight = solve(0.0, 2.0, |x| x * x - 2.0, 1e-12);
        assert!((tight - std::f64::consts::SQRT_2).abs() < 1e-12, "{tight}");
    }

    #[test]
    fn finds_cosine_root() {
        let root = solve(0.0, 1.0, |x| x.cos() - x, 1e-10);
        assert!((root - 0.739_085_133_215_160_6).abs() < 1e-10, "{root}");
    }

    #[test]
    fn linear_function_is_solved_by_one_secant_step() {
        // From (0, -1) and (4, 3) the secant through the endpoints hits 1 exactly.
        let mut calls = 0;
        let res: Result<f64, Infallible> = zeroin(
            0.0,
            4.0,
            -1.0,
            3.0,
            |x| {
                calls += 1;
                Ok(x - 1.0)
            },
            1e-4,
            1000,
        );
        assert_eq!(res.ok(), Some(1.0));
        assert_eq!(calls, 1);
    }

    #[test]
    fn endpoint_roots_are_returned_without_iterating() {
        let res: Result<f64, Infallible> = zeroin(1.0, 2.0, 0.0, 5.0, |_| Ok(f64::NAN), 1e-4, 1000);
        assert_eq!(res.ok(), Some(1.0));
        let res: Result<f64, Infallible> = zeroin(1.0, 2.0, -5.0, 0.0, |_| Ok(f64::NAN), 1e-4, 1000);
        assert_eq!(res.ok(), Some(2.0));
    }

    #[test]
    fn step_function_root_lands_within_tolerance_of_the_jump() {
        // Kayenta's z-function is a step function; the solver stops within ~tol of the jump at 0.3.
        let root = solve(-1.0, 1.0, |x| if x < 0.3 { -1.0 } else { 1.0 }, 1e-4);
        assert!((root - 0.3).abs() <= 1e-4, "{root}");
    }

    #[test]
    fn non_bracketing_interval_still_returns_a_point() {
        let root = solve(0.0, 1.0, |x| x + 1.0, 1e-4);
        assert!((0.0..=1.0).contains(&root), "{root}");
    }

    #[test]
    fn errors_from_the_function_propagate() {
        let res: Result<f64, &str> = zeroin(0.0, 1.0, -1.0, 1.0, |_| Err("tied"), 1e-4, 1000);
        assert_eq!(res, Err("tied"));
    }

    #[test]
    fn nan_and_infinite_inputs_terminate() {
        let res: Result<f64, Infallible> = zeroin(f64::NAN, 1.0, -1.0, 1.0, |_| Ok(f64::NAN), 1e-4, 1000);
        assert!(res.is_ok());
        let res: Result<f64, Infallible> = zeroin(f64::NEG_INFINITY, f64::INFINITY, -1.0, 1.0, Ok, 1e-4, 1000);
        assert!(res.is_ok());
    }

    #[test]
    fn precision_equals_is_one_ulp() {
        assert!(precision_equals(0.0, 0.0));
        assert!(precision_equals(-0.0, 0.0));
        assert!(precision_equals(f64::from_bits(1), 0.0));
        assert!(precision_equals(-f64::from_bits(1), 0.0));
        assert!(!precision_equals(f64::from_bits(2), 0.0));
        assert!(!precision_equals(f64::MIN_POSITIVE, 0.0));
        assert!(precision_equals(1.0, 1.0 + f64::EPSILON));
        assert!(!precision_equals(1.0, 1.0 + 2.0 * f64::EPSILON));
        assert!(!precision_equals(f64::NAN, f64::NAN));
    }
}
