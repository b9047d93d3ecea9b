//! Invariances the formulas promise: shifting all scores by a constant, hinge flat beyond
//! the margin, cosine similarity ignoring norms.

mod common;

use common::{
    assert_close, build, loss_and_grad, loss_value, Cpu, EmbeddingCase, Rng, ScoreCase, Wrt,
};

fn shifted(rows: &[Vec<f32>], by: f32) -> Vec<Vec<f32>> {
    rows.iter()
        .map(|row| row.iter().map(|v| v + by).collect())
        .collect()
}

#[test]
fn listwise_and_pairwise_losses_ignore_a_common_score_shift() {
    let shift_invariant = [
        r#"{"loss": "listnet"}"#,
        r#"{"loss": "listnet", "target": "teacher_scores", "temperature": 0.5}"#,
        r#"{"loss": "listmle"}"#,
        r#"{"loss": "ranknet"}"#,
        r#"{"loss": "margin_ranking"}"#,
        r#"{"loss": "lambda_loss", "k": 2}"#,
        r#"{"loss": "margin_mse"}"#,
        r#"{"loss": "distill_kl", "temperature": 3.0}"#,
    ];
    let mut rng = Rng::new(21);
    let case = ScoreCase::random(&mut rng, 4, 6, 0.3);
    for config in shift_invariant {
        let loss = build(config);
        let reference = loss_value(&loss, &case.input::<Cpu>());
        for by in [3.0, -40.0] {
            let moved = ScoreCase {
                scores: shifted(&case.scores, by),
                ..case.clone()
            };
            let value = loss_value(&loss, &moved.input::<Cpu>());
            assert_close(&format!("{config} shifted by {by}"), value, reference, 5e-5);
        }
    }
    // Distillation losses also ignore a shift of the teacher's scores.
    for config in [r#"{"loss": "margin_mse"}"#, r#"{"loss": "distill_kl"}"#] {
        let loss = build(config);
        let moved = ScoreCase {
            teacher: shifted(&case.teacher, 11.0),
            ..case.clone()
        };
        assert_close(
            config,
            loss_value(&loss, &moved.input::<Cpu>()),
            loss_value(&loss, &case.input::<Cpu>()),
            5e-5,
        );
    }
}

#[test]
fn infonce_ignores_a_common_similarity_shift() {
    // With dot similarity, appending a coordinate 1 to every query and c to every document
    // adds c to every similarity.
    let mut rng = Rng::new(22);
    let case = EmbeddingCase::random(&mut rng, 5, 4, 6);
    let append = |rows: &[Vec<f32>], value: f32| -> Vec<Vec<f32>> {
        rows.iter()
            .map(|row| row.iter().copied().chain([value]).collect())
            .collect()
    };
    for config in [
        r#"{"loss": "infonce", "similarity": "dot", "scale": 0.7}"#,
        r#"{"loss": "infonce", "similarity": "dot", "symmetric": true}"#,
    ] {
        let loss = build(config);
        let base = EmbeddingCase {
            queries: append(&case.queries, 1.0),
            positives: append(&case.positives, 0.0),
            negatives: case.negatives.as_ref().map(|n| append(n, 0.0)),
        };
        let moved = EmbeddingCase {
            queries: append(&case.queries, 1.0),
            positives: append(&case.positives, 2.5),
            negatives: case.negatives.as_ref().map(|n| append(n, 2.5)),
        };
        assert_close(
            config,
            loss_value(&loss, &moved.input::<Cpu>()),
            loss_value(&loss, &base.input::<Cpu>()),
            1e-5,
        );
    }
}

#[test]
fn cosine_infonce_ignores_embedding_norms() {
    let mut rng = Rng::new(23);
    let case = EmbeddingCase::random(&mut rng, 4, 3, 5);
    let scaled = |rows: &[Vec<f32>], by: f32| -> Vec<Vec<f32>> {
        rows.iter()
            .map(|row| row.iter().map(|v| v * by).collect())
            .collect()
    };
    let stretched = EmbeddingCase {
        queries: scaled(&case.queries, 7.0),
        positives: scaled(&case.positives, 0.2),
        negatives: case.negatives.as_ref().map(|n| scaled(n, 3.0)),
    };
    let loss = build(r#"{"loss": "infonce", "symmetric": true}"#);
    assert_close(
        "cosine",
        loss_value(&loss, &stretched.input::<Cpu>()),
        loss_value(&loss, &case.input::<Cpu>()),
        1e-5,
    );
}

#[test]
fn hinge_is_zero_with_zero_gradient_beyond_the_margin() {
    let loss = build(r#"{"loss": "margin_ranking", "margin": 1.0}"#);
    // Every preferred entry leads every less relevant one by at least 1.5.
    let clear = ScoreCase {
        scores: vec![vec![5.0, 0.0, 3.5, -2.0], vec![-1.0, 1.0, 4.0, 9.0]],
        labels: vec![vec![2.0, 0.0, 1.0, 0.0], vec![0.0, 1.0, 2.0, 3.0]],
        teacher: vec![vec![0.0; 4]; 2],
        valid: vec![vec![true; 4]; 2],
    };
    let (value, grad) = loss_and_grad(&loss, &clear.input(), Wrt::Scores);
    assert_eq!(value, 0.0);
    assert!(grad.iter().all(|&g| g == 0.0), "{grad:?}");
    // One pair inside the margin: (0, 2) leads by 0.25 -> 0.75 over that group's 5 pairs.
    let close = ScoreCase {
        scores: vec![vec![5.0, 0.0, 4.75, -2.0], clear.scores[1].clone()],
        ..clear
    };
    let (value, grad) = loss_and_grad(&loss, &close.input(), Wrt::Scores);
    assert_close("hinge inside margin", value, 0.75 / 5.0 / 2.0, 1e-6);
    assert_close("pushes the better one up", grad[0], -1.0 / 10.0, 1e-6);
    assert_close("pushes the worse one down", grad[2], 1.0 / 10.0, 1e-6);
}
