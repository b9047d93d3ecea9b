//! Every loss against the PyTorch reference values and gradients in
//! tests/fixtures/losses.json (written by scripts/reference/losses.py), to 1e-5.

mod common;

use common::{cube, loss_and_grad, mask, matrix, Ad, Wrt};
use rankforge_losses::{LossConfig, LossInput};
use serde_json::Value;

const FIXTURE: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/fixtures/losses.json"
));
const TOLERANCE: f32 = 1e-5;

fn floats(value: &Value) -> Vec<Vec<f32>> {
    value
        .as_array()
        .expect("rows")
        .iter()
        .map(|row| {
            row.as_array()
                .expect("row")
                .iter()
                .map(|v| v.as_f64().expect("number") as f32)
                .collect()
        })
        .collect()
}

fn bools(value: &Value) -> Vec<Vec<bool>> {
    value
        .as_array()
        .expect("rows")
        .iter()
        .map(|row| {
            row.as_array()
                .expect("row")
                .iter()
                .map(|v| v.as_bool().expect("bool"))
                .collect()
        })
        .collect()
}

fn input_of(inputs: &Value) -> LossInput<Ad> {
    let mut input = if let Some(queries) = inputs.get("queries") {
        let positives = &inputs["positives"];
        let mut input =
            LossInput::from_embeddings(matrix(&floats(queries)), matrix(&floats(positives)));
        if let Some(negatives) = inputs.get("negatives") {
            let blocks: Vec<Vec<Vec<f32>>> = negatives
                .as_array()
                .expect("blocks")
                .iter()
                .map(floats)
                .collect();
            input = input.with_negatives_per_query(cube(&blocks));
        }
        input
    } else {
        LossInput::from_scores(matrix(&floats(&inputs["scores"])))
    };
    if let Some(valid) = inputs.get("valid") {
        input = input.with_valid_mask(mask(&bools(valid)));
    }
    if let Some(labels) = inputs.get("labels") {
        input = input.with_labels(matrix(&floats(labels)));
    }
    if let Some(teacher) = inputs.get("teacher_scores") {
        input = input.with_teacher_scores(matrix(&floats(teacher)));
    }
    input
}

fn assert_all_close(name: &str, what: &str, ours: &[f32], theirs: &[f32]) {
    assert_eq!(ours.len(), theirs.len(), "{name}: {what} length");
    for (k, (a, b)) in ours.iter().zip(theirs).enumerate() {
        assert!(
            (a - b).abs() <= TOLERANCE,
            "{name}: {what}[{k}] = {a}, reference {b} (|diff| {})",
            (a - b).abs()
        );
    }
}

#[test]
fn every_loss_matches_the_pytorch_reference() {
    let fixture: Value = serde_json::from_str(FIXTURE).expect("fixture json");
    assert_eq!(fixture["tolerance"].as_f64(), Some(1e-5));
    let cases = fixture["cases"].as_array().expect("cases");
    let mut seen = std::collections::BTreeSet::new();
    for case in cases {
        let name = case["name"].as_str().expect("name");
        let config: LossConfig = serde_json::from_value(case["config"].clone())
            .unwrap_or_else(|e| panic!("{name}: config does not parse: {e}"));
        seen.insert(config.name());
        let loss = config.build().expect("valid config");
        let input = input_of(&case["inputs"]);
        let expected_loss = case["loss"].as_f64().expect("loss") as f32;
        let grads = case["grad"].as_object().expect("grad");
        for (key, expected) in grads {
            let wrt = match key.as_str() {
                "scores" => Wrt::Scores,
                "queries" => Wrt::Queries,
                "positives" => Wrt::Positives,
                "negatives" => Wrt::Negatives,
                other => panic!("{name}: unknown gradient {other}"),
            };
            let (value, grad) = loss_and_grad(&loss, &input, wrt);
            assert_all_close(name, "loss", &[value], &[expected_loss]);
            let expected: Vec<f32> = match wrt {
                Wrt::Negatives => expected
                    .as_array()
                    .expect("blocks")
                    .iter()
                    .flat_map(|b| floats(b).into_iter().flatten())
                    .collect(),
                _ => floats(expected).into_iter().flatten().collect(),
            };
            assert_all_close(name, &format!("d/d{key}"), &grad, &expected);
        }
    }
    assert_eq!(seen.len(), 10, "every loss has fixture cases: {seen:?}");
}
