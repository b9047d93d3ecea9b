"""Fits the rational approximation of erf that rankforge's CPU GELU kernel evaluates.

    erf(x) ~= x * P(x^2) / Q(x^2),  |x| <= CLAMP,  P of degree 5, Q of degree 5 with Q(0) = 1

Beyond CLAMP, erf(x) rounds to +-1 in f32, so the kernel clamps x first. The fit is a
linearised least-squares problem (erf * Q - x * P = 0 on Chebyshev nodes of [0, CLAMP]),
reweighted Lawson-style towards the minimax (equal-ripple) solution of the absolute error;
the reference values come from mpmath at 30 digits. Prints the coefficients as Rust constants
and the largest absolute error of the f32 evaluation (Horner, as the kernel does it) on a dense
grid, to paste into crates/model/src/gelu.rs.

    usage: .cache/venv-ref/bin/python scripts/reference/fit_erf.py
"""

import mpmath
import numpy as np

mpmath.mp.dps = 30
CLAMP = 3.925
DEG_P, DEG_Q = 5, 5


def reference_erf(xs):
    return np.array([float(mpmath.erf(float(v))) for v in xs])


def fit(x, y, iterations=30):
    z = x * x
    weights = np.ones_like(x)
    best = None
    for _ in range(iterations):
        a = np.hstack(
            [
                -(x[:, None] * z[:, None] ** np.arange(DEG_P + 1)),
                y[:, None] * z[:, None] ** np.arange(1, DEG_Q + 1),
            ]
        )
        solution, *_ = np.linalg.lstsq(a * weights[:, None], -y * weights, rcond=None)
        p = solution[: DEG_P + 1]
        q = np.concatenate([[1.0], solution[DEG_P + 1 :]])
        q_values = np.polyval(q[::-1], z)
        error = x * np.polyval(p[::-1], z) / q_values - y
        worst = np.abs(error).max()
        if best is None or worst < best[0]:
            best = (worst, p.copy(), q.copy())
        weights = weights * np.maximum(np.abs(error), 1e-20) ** 0.5 / np.abs(q_values)
        weights /= weights.max()
    return best


def evaluate_f32(xs, p, q):
    x = np.clip(xs.astype(np.float32), np.float32(-CLAMP), np.float32(CLAMP))
    z = x * x
    num = np.zeros_like(z)
    den = np.zeros_like(z)
    for c in p[::-1].astype(np.float32):
        num = num * z + c
    for c in q[::-1].astype(np.float32):
        den = den * z + c
    return x * num / den


def main():
    n = 4000
    nodes = (np.cos(np.pi * (np.arange(n) + 0.5) / n) + 1) / 2 * CLAMP
    worst, p, q = fit(nodes, reference_erf(nodes))
    grid = np.linspace(-6.0, 6.0, 24001)
    f32_error = np.abs(evaluate_f32(grid, p, q).astype(np.float64) - reference_erf(grid)).max()
    print(f"// fit error {worst:.3g}, f32 evaluation error {f32_error:.3g} on [-6, 6]")
    for i, c in enumerate(p):
        print(f"const P{i}: f32 = {np.float32(c)!r};".replace("np.float32(", "").replace(")", ""))
    for i, c in enumerate(q[1:], start=1):
        print(f"const Q{i}: f32 = {np.float32(c)!r};".replace("np.float32(", "").replace(")", ""))


if __name__ == "__main__":
    main()
