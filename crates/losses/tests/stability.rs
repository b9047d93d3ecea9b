//! Large logits and half-precision inputs: no inf/NaN at |s| = 1e4, f16/bf16 computed in f32.

mod common;

use burn::tensor::{DType, FloatDType};
use common::{
    assert_close, build, loss_and_grad, loss_value, matrix, values, Cpu, EmbeddingCase, Rng,
    ScoreCase, Wrt, EMBEDDING_LOSSES, SCORE_LOSSES,
};
use rankforge_losses::LossInput;

fn huge_case() -> ScoreCase {
    ScoreCase {
        scores: vec![
            vec![1e4, -1e4, 0.0, 5e3, -9.9e3],
            vec![-1e4, 1e4, 9.9e3, -5e3, 1.0],
        ],
        labels: vec![vec![1.0, 0.0, 0.5, 0.5, 0.0], vec![1.0, 0.0, 0.5, 0.0, 0.0]],
        teacher: vec![
            vec![-1e4, 1e4, 3.0, 0.0, 2e3],
            vec![1e4, -1e4, 0.0, 7e3, -3.0],
        ],
        valid: vec![vec![true; 5], vec![true, true, true, true, false]],
    }
}

#[test]
fn score_losses_stay_finite_at_huge_logits() {
    for config in SCORE_LOSSES {
        let loss = build(config);
        let (value, grad) = loss_and_grad(&loss, &huge_case().input(), Wrt::Scores);
        assert!(value.is_finite(), "{config}: loss {value}");
        assert!(
            grad.iter().all(|g| g.is_finite()),
            "{config}: gradient {grad:?}"
        );
    }
}

#[test]
fn huge_logits_give_the_exact_asymptotic_values() {
    // A preferred document 2e4 behind: RankNet = softplus(2e4) = 2e4 exactly in f32.
    let case = ScoreCase {
        scores: vec![vec![-1e4, 1e4]],
        labels: vec![vec![1.0, 0.0]],
        teacher: vec![vec![0.0, 0.0]],
        valid: vec![vec![true, true]],
    };
    let input = case.input::<Cpu>();
    assert_close(
        "ranknet",
        loss_value(&build(r#"{"loss": "ranknet"}"#), &input),
        2e4,
        1e-2,
    );
    // ListNet with labels [1, 0]: p = softmax([1, 0]) = [e/(1+e), 1/(1+e)] and
    // log q = [−2e4, 0], so −Σ p log q = p0 · 2e4.
    let p0 = std::f32::consts::E / (1.0 + std::f32::consts::E);
    assert_close(
        "listnet",
        loss_value(&build(r#"{"loss": "listnet"}"#), &input),
        p0 * 2e4,
        1.0,
    );
    // BCE of a confident wrong logit: softplus(1e4) = 1e4 (label 1 at −1e4), 1e4 (label 0 at 1e4).
    assert_close(
        "bce",
        loss_value(&build(r#"{"loss": "bce"}"#), &input),
        1e4,
        1e-1,
    );
    // BCE of confident right logits is exactly 0.
    let right = ScoreCase {
        scores: vec![vec![1e4, -1e4]],
        ..case
    };
    assert_eq!(
        loss_value(&build(r#"{"loss": "bce"}"#), &right.input::<Cpu>()),
        0.0
    );
}

#[test]
fn infonce_stays_finite_at_huge_similarities() {
    let mut rng = Rng::new(1);
    let mut case = EmbeddingCase::random(&mut rng, 4, 3, 8);
    for rows in [&mut case.queries, &mut case.positives] {
        for row in rows.iter_mut() {
            row.iter_mut().for_each(|v| *v *= 60.0);
        }
    }
    for config in EMBEDDING_LOSSES
        .iter()
        .chain([&r#"{"loss": "infonce", "scale": 1e4}"#])
    {
        let loss = build(config);
        for wrt in [Wrt::Queries, Wrt::Positives, Wrt::Negatives] {
            let (value, grad) = loss_and_grad(&loss, &case.input(), wrt);
            assert!(value.is_finite(), "{config}: loss {value}");
            assert!(
                grad.iter().all(|g| g.is_finite()),
                "{config}: gradient {grad:?}"
            );
        }
    }
}

#[test]
fn half_precision_inputs_are_computed_in_f32() {
    let mut rng = Rng::new(2);
    let case = ScoreCase::random(&mut rng, 3, 6, 0.37);
    for dtype in [FloatDType::F16, FloatDType::BF16] {
        let half = |rows: &Vec<Vec<f32>>| matrix::<Cpu>(rows).cast(dtype);
        // The same values, rounded to half precision and widened back.
        let rounded = |rows: &Vec<Vec<f32>>| half(rows).cast(FloatDType::F32);
        let half_input = LossInput::from_scores(half(&case.scores))
            .with_labels(half(&case.labels))
            .with_teacher_scores(half(&case.teacher))
            .with_valid_mask(common::mask(&case.valid));
        let f32_input = LossInput::from_scores(rounded(&case.scores))
            .with_labels(rounded(&case.labels))
            .with_teacher_scores(rounded(&case.teacher))
            .with_valid_mask(common::mask(&case.valid));
        for config in SCORE_LOSSES {
            let loss = build(config);
            let out = loss.compute(&half_input).expect("computes");
            assert_eq!(out.dtype(), DType::F32, "{config}: output dtype");
            let expected = loss_value(&loss, &f32_input);
            assert_close(
                &format!("{config} {dtype:?}"),
                values(out)[0],
                expected,
                1e-6,
            );
        }
    }
    let embeddings = EmbeddingCase::random(&mut rng, 4, 2, 8);
    let half = |rows: &Vec<Vec<f32>>| matrix::<Cpu>(rows).cast(FloatDType::BF16);
    let input = LossInput::from_embeddings(half(&embeddings.queries), half(&embeddings.positives))
        .with_flat_negatives(half(embeddings.negatives.as_ref().unwrap()));
    let out = build(r#"{"loss": "infonce"}"#)
        .compute(&input)
        .expect("computes");
    assert_eq!(out.dtype(), DType::F32);
    assert!(values(out)[0].is_finite());
}
