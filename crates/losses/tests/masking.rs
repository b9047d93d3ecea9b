//! Padding: padded entries must not change the loss and must get exactly zero gradient, even
//! when they hold NaN or inf; a float mask works like a bool mask.

mod common;

use common::{build, loss_and_grad, matrix, Ad, Rng, ScoreCase, Wrt, SCORE_LOSSES};
use rankforge_losses::LossInput;

/// Inserts padded columns (holding `junk`) at `positions` of the padded layout.
fn insert_padding(case: &ScoreCase, positions: &[usize], junk: f32) -> ScoreCase {
    let width = case.width() + positions.len();
    let spread = |rows: &Vec<Vec<f32>>, fill: f32| -> Vec<Vec<f32>> {
        rows.iter()
            .map(|row| {
                let mut real = row.iter();
                (0..width)
                    .map(|c| {
                        if positions.contains(&c) {
                            fill
                        } else {
                            *real.next().unwrap()
                        }
                    })
                    .collect()
            })
            .collect()
    };
    let valid = case
        .valid
        .iter()
        .map(|row| {
            let mut real = row.iter();
            (0..width)
                .map(|c| !positions.contains(&c) && *real.next().unwrap())
                .collect()
        })
        .collect();
    ScoreCase {
        scores: spread(&case.scores, junk),
        labels: spread(&case.labels, junk),
        teacher: spread(&case.teacher, junk),
        valid,
    }
}

/// Column 0 stays in place so the positive-first losses keep their positive.
const PAD_POSITIONS: &[usize] = &[1, 4, 7];

#[test]
fn padded_entries_change_nothing_and_get_zero_gradient() {
    let mut rng = Rng::new(3);
    for config in SCORE_LOSSES {
        let loss = build(config);
        let case = ScoreCase::random(&mut rng, 4, 5, 0.3);
        let (reference, reference_grad) = loss_and_grad(&loss, &case.input(), Wrt::Scores);
        for junk in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 1e30, -7.0] {
            let padded = insert_padding(&case, PAD_POSITIONS, junk);
            let (value, grad) = loss_and_grad(&loss, &padded.input(), Wrt::Scores);
            assert!(
                (value - reference).abs() <= 1e-6 * reference.abs().max(1.0),
                "{config}: padding with {junk} changed the loss {reference} -> {value}"
            );
            let width = padded.width();
            let mut real_grads = reference_grad.iter();
            for (k, &g) in grad.iter().enumerate() {
                let (row, col) = (k / width, k % width);
                if PAD_POSITIONS.contains(&col) {
                    assert_eq!(
                        g, 0.0,
                        "{config}: inserted padding [{row}][{col}] has gradient {g}"
                    );
                    continue;
                }
                let expected = *real_grads.next().unwrap();
                if !padded.valid[row][col] {
                    assert_eq!(g, 0.0, "{config}: padded [{row}][{col}] has gradient {g}");
                }
                assert!(
                    (g - expected).abs() <= 1e-6,
                    "{config}: padding changed the gradient at [{row}][{col}]: {expected} -> {g}"
                );
            }
        }
    }
}

#[test]
fn an_all_padded_group_changes_nothing() {
    let mut rng = Rng::new(5);
    for config in SCORE_LOSSES {
        let loss = build(config);
        let case = ScoreCase::random(&mut rng, 3, 4, 0.3);
        let (reference, _) = loss_and_grad(&loss, &case.input(), Wrt::Scores);
        let mut padded = case.clone();
        padded.scores.push(vec![f32::NAN; 4]);
        padded.labels.push(vec![1.0; 4]);
        padded.teacher.push(vec![f32::INFINITY; 4]);
        padded.valid.push(vec![false; 4]);
        let (value, grad) = loss_and_grad(&loss, &padded.input(), Wrt::Scores);
        assert!(
            (value - reference).abs() <= 1e-6 * reference.abs().max(1.0),
            "{config}: an empty group changed the loss {reference} -> {value}"
        );
        assert!(
            grad[12..].iter().all(|&g| g == 0.0),
            "{config}: empty group got gradient"
        );
    }
}

#[test]
fn a_float_mask_works_like_a_bool_mask() {
    let mut rng = Rng::new(9);
    for config in SCORE_LOSSES {
        let loss = build(config);
        let case = ScoreCase::random(&mut rng, 3, 5, 0.3);
        let float_mask: Vec<Vec<f32>> = case
            .valid
            .iter()
            .map(|row| row.iter().map(|&v| if v { 1.0 } else { 0.0 }).collect())
            .collect();
        let with_bool = case.input::<Ad>();
        let with_float = LossInput::from_scores(matrix::<Ad>(&case.scores))
            .with_labels(matrix(&case.labels))
            .with_teacher_scores(matrix(&case.teacher))
            .with_float_mask(matrix(&float_mask));
        let (a, grad_a) = loss_and_grad(&loss, &with_bool, Wrt::Scores);
        let (b, grad_b) = loss_and_grad(&loss, &with_float, Wrt::Scores);
        assert_eq!(a, b, "{config}");
        assert_eq!(grad_a, grad_b, "{config}");
        // And without any mask, an all-real batch equals an all-true mask.
        let all_real = ScoreCase {
            valid: vec![vec![true; 5]; 3],
            ..case.clone()
        };
        let no_mask = LossInput::from_scores(matrix::<Ad>(&case.scores))
            .with_labels(matrix(&case.labels))
            .with_teacher_scores(matrix(&case.teacher));
        let (c, _) = loss_and_grad(&loss, &all_real.input(), Wrt::Scores);
        let (d, _) = loss_and_grad(&loss, &no_mask, Wrt::Scores);
        assert_eq!(c, d, "{config}");
    }
}
