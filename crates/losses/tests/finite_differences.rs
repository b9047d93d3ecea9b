//! Autodiff gradients of every loss against central finite differences on random inputs.

mod common;

use common::{
    build, loss_and_grad, loss_value, rows_of, EmbeddingCase, Rng, ScoreCase, Wrt,
    EMBEDDING_LOSSES, SCORE_LOSSES,
};

const STEP: f32 = 1e-2;

/// `|fd − ad| ≤ 2e-3 + 2e-2·|ad|`: loose enough for f32 central differences, far tighter
/// than any real gradient error (wrong terms are off by O(1)).
fn assert_gradient_matches(what: &str, analytic: f32, numeric: f32) {
    let tolerance = 2e-3 + 2e-2 * analytic.abs();
    assert!(
        (analytic - numeric).abs() <= tolerance,
        "{what}: autodiff {analytic}, finite difference {numeric}"
    );
}

#[test]
fn score_losses_match_finite_differences() {
    let mut rng = Rng::new(7);
    for config in SCORE_LOSSES {
        let loss = build(config);
        for trial in 0..2 {
            let case = ScoreCase::random(&mut rng, 3, 5, 0.25);
            let (_, grad) = loss_and_grad(&loss, &case.input(), Wrt::Scores);
            let width = case.width();
            for (k, &analytic) in grad.iter().enumerate() {
                let (g, i) = (k / width, k % width);
                let mut plus = case.clone();
                plus.scores[g][i] += STEP;
                let mut minus = case.clone();
                minus.scores[g][i] -= STEP;
                let numeric = (loss_value(&loss, &plus.input())
                    - loss_value(&loss, &minus.input()))
                    / (2.0 * STEP);
                assert_gradient_matches(
                    &format!("{config} trial {trial} d/dscores[{g}][{i}]"),
                    analytic,
                    numeric,
                );
                if !case.valid[g][i] {
                    assert_eq!(analytic, 0.0, "{config}: padded entry has gradient");
                }
            }
        }
    }
}

#[test]
fn infonce_matches_finite_differences() {
    let mut rng = Rng::new(11);
    for config in EMBEDDING_LOSSES {
        let loss = build(config);
        let case = EmbeddingCase::random(&mut rng, 3, 4, 4);
        for wrt in [Wrt::Queries, Wrt::Positives, Wrt::Negatives] {
            let (_, grad) = loss_and_grad(&loss, &case.input(), wrt);
            for (k, &analytic) in grad.iter().enumerate() {
                let perturbed = |delta: f32| {
                    let mut c = case.clone();
                    let rows = match wrt {
                        Wrt::Queries => &mut c.queries,
                        Wrt::Positives => &mut c.positives,
                        _ => c.negatives.as_mut().expect("negatives"),
                    };
                    let width = rows[0].len();
                    let mut flat: Vec<f32> = rows.iter().flatten().copied().collect();
                    flat[k] += delta;
                    *rows = rows_of(&flat, width);
                    loss_value(&loss, &c.input())
                };
                let numeric = (perturbed(STEP) - perturbed(-STEP)) / (2.0 * STEP);
                assert_gradient_matches(&format!("{config} d/d{wrt:?}[{k}]"), analytic, numeric);
            }
        }
    }
}
