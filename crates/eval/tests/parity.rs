//! Parity with pytrec_eval (trec_eval 9) and scipy: the values in tests/fixtures/metrics.json,
//! written by scripts/reference/metrics.py, must be reproduced to 1e-6.

use std::path::PathBuf;

use rankforge_data::{Qrels, Run};
use rankforge_eval::{
    compare, evaluate, paired_randomization_test, paired_t_test, CompareOptions, Metric,
};
use serde_json::Value;

const TOLERANCE: f64 = 1e-6;

fn fixture() -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/metrics.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run scripts/reference/metrics.py)", path.display()));
    serde_json::from_str(&text).expect("fixture is JSON")
}

fn qrels_from(value: &Value) -> Qrels {
    let mut qrels = Qrels::new();
    for (query_id, docs) in value.as_object().unwrap() {
        for (doc_id, grade) in docs.as_object().unwrap() {
            qrels.insert(query_id, doc_id, grade.as_i64().unwrap() as i32);
        }
    }
    qrels
}

/// A run from `{"q": [["doc", score], ...]}`, lists kept in the fixture's (shuffled) order.
fn run_from(value: &Value) -> Run {
    let mut run = Run::new();
    for (query_id, docs) in value.as_object().unwrap() {
        run.set(query_id, Vec::new());
        for pair in docs.as_array().unwrap() {
            run.push(
                query_id,
                pair[0].as_str().unwrap(),
                pair[1].as_f64().unwrap(),
            );
        }
    }
    run
}

fn floats(value: &Value) -> Vec<f64> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect()
}

fn assert_close(actual: f64, expected: f64, what: &str) {
    assert!(
        (actual - expected).abs() <= TOLERANCE,
        "{what}: ours {actual}, reference {expected}"
    );
}

#[test]
fn metrics_match_pytrec_eval() {
    let fixture = fixture();
    let cases = fixture["metric_cases"].as_array().unwrap();
    assert!(cases.len() >= 6);
    let mut checked = 0;
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let qrels = qrels_from(&case["qrels"]);
        let run = run_from(&case["run"]);
        let metrics: Vec<Metric> = case["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m.as_str().unwrap().parse().unwrap())
            .collect();
        let evaluation = evaluate(&qrels, &run, &metrics).unwrap();
        assert_eq!(evaluation.num_queries(), qrels.num_queries(), "{name}");
        for metric in &metrics {
            let key = metric.to_string();
            let expected = &case["per_query"][&key];
            for query_id in evaluation.query_ids() {
                let reference = expected[query_id.as_str()].as_f64().unwrap();
                let ours = evaluation.value(metric, query_id).unwrap();
                assert_close(ours, reference, &format!("{name} {key} {query_id}"));
                checked += 1;
            }
            let mean = evaluation.mean(metric).unwrap();
            assert_close(
                mean,
                case["mean"][&key].as_f64().unwrap(),
                &format!("{name} {key} mean"),
            );
        }
    }
    assert!(checked > 1000, "only {checked} values checked");
}

#[test]
fn t_test_matches_scipy_ttest_rel() {
    let fixture = fixture();
    for case in fixture["t_tests"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let (a, b) = (floats(&case["a"]), floats(&case["b"]));
        let test = paired_t_test(&a, &b).unwrap();
        assert_close(test.t, case["t"].as_f64().unwrap(), &format!("{name} t"));
        let expected = case["p"].as_f64().unwrap();
        assert_close(test.p_value, expected, &format!("{name} p"));
        // Small p-values: also relatively close.
        assert!(
            (test.p_value - expected).abs() <= 1e-6 * expected.max(1e-300) || expected > 1e-3,
            "{name}: p {} vs {expected}",
            test.p_value
        );
    }
}

#[test]
fn exact_randomization_test_matches_scipy_permutation_test() {
    let fixture = fixture();
    for case in fixture["randomization_exact"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let (a, b) = (floats(&case["a"]), floats(&case["b"]));
        // 10,000 permutations ≥ 2^n for these n ≤ 12: the test enumerates every assignment.
        let p = paired_randomization_test(&a, &b, 10_000, 0).unwrap();
        assert_close(p, case["p"].as_f64().unwrap(), name);
    }
}

#[test]
fn comparison_matches_reference() {
    let fixture = fixture();
    let case = &fixture["comparison"];
    let qrels = qrels_from(&case["qrels"]);
    let runs: Vec<(String, Run)> = case["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|pair| (pair[0].as_str().unwrap().to_string(), run_from(&pair[1])))
        .collect();
    let metrics: Vec<Metric> = case["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap().parse().unwrap())
        .collect();
    let comparison = compare(&qrels, &runs, &metrics, &CompareOptions::default()).unwrap();
    for row in &comparison.rows {
        let key = row.metric.to_string();
        let expected = &case["expected"][&key];
        for (i, score) in row.systems.iter().enumerate() {
            let what = format!("{key} {}", score.system);
            assert_close(score.mean, expected["means"][i].as_f64().unwrap(), &what);
            assert_close(score.delta, expected["deltas"][i].as_f64().unwrap(), &what);
            match (&expected["t_test_p"][i], score.t_test_p) {
                (Value::Null, None) => assert_eq!(i, 0, "{what}"),
                // scipy answers NaN when every difference is 0; ours is p = 1.
                (Value::Null, Some(p)) => {
                    assert_eq!(score.delta, 0.0, "{what}");
                    assert_eq!(p, 1.0, "{what}");
                }
                (reference, Some(p)) => assert_close(p, reference.as_f64().unwrap(), &what),
                (reference, None) => panic!("{what}: no p-value, reference {reference}"),
            }
        }
    }
    let differing: Vec<usize> = comparison
        .top_one_changes
        .iter()
        .map(|c| c.queries_differing)
        .collect();
    let expected: Vec<usize> = case["top1_differs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as usize)
        .collect();
    assert_eq!(differing, expected);
}
