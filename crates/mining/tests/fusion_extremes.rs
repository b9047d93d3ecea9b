//! Fusion with extreme scores (issue 19): every method and normalisation gives finite fused
//! scores for any finite input (weighted min-max fusion of ±1e308 used to write NaN with exit
//! 0), a non-finite input score is an error naming the run, and a fused score that cannot be
//! represented is an error rather than `inf`/`NaN`.

use std::collections::HashMap;

use rankforge_data::Run;
use rankforge_mining::*;

fn run(docs: &[(&str, f64)]) -> Run {
    let mut run = Run::new();
    for (doc, score) in docs {
        run.push("q", *doc, *score);
    }
    run
}

fn scores(run: &Run) -> HashMap<String, f64> {
    run.get("q")
        .unwrap()
        .iter()
        .map(|d| (d.doc_id.clone(), d.score))
        .collect()
}

fn order(run: &Run) -> Vec<&str> {
    run.get("q")
        .unwrap()
        .iter()
        .map(|d| d.doc_id.as_str())
        .collect()
}

fn config(method: FusionMethod, normalization: Normalization) -> FusionConfig {
    FusionConfig {
        method,
        normalization,
        ..FusionConfig::default()
    }
}

const EXTREMES: [f64; 8] = [
    f64::MAX,
    -f64::MAX,
    1e308,
    -1e308,
    f64::MIN_POSITIVE,
    5e-324,
    -5e-324,
    0.0,
];

#[test]
fn extreme_scores_fuse_to_finite_scores_with_every_method() {
    let a = run(&[("hi", 1e308), ("mid", 0.0), ("lo", -1e308)]);
    let b = run(&[("hi", f64::MAX), ("mid", 1.0), ("lo", -f64::MAX)]);
    for method in [FusionMethod::Rrf, FusionMethod::Score] {
        for normalization in [Normalization::MinMax, Normalization::ZScore] {
            let fused = fuse(&[&a, &b], &config(method, normalization))
                .unwrap_or_else(|e| panic!("{method:?} {normalization:?}: {e}"));
            let s = scores(&fused);
            assert!(
                s.values().all(|v| v.is_finite()),
                "{method:?} {normalization:?}: {s:?}"
            );
            assert_eq!(
                order(&fused),
                ["hi", "mid", "lo"],
                "{method:?} {normalization:?}"
            );
        }
    }

    // Min-max of ±1e308 is exactly 1, ½ and 0 (`max − min` overflows to inf: this was NaN).
    let fused = fuse(&[&a], &config(FusionMethod::Score, Normalization::MinMax)).unwrap();
    let s = scores(&fused);
    assert_eq!((s["hi"], s["mid"], s["lo"]), (1.0, 0.5, 0.0));

    // Z-scores of huge and tiny scores match those of the same scores at a sane scale.
    let sane = fuse(
        &[&run(&[("hi", 1.0), ("mid", 0.0), ("lo", -1.0)])],
        &config(FusionMethod::Score, Normalization::ZScore),
    )
    .unwrap();
    for scale in [1e308, 1e-300, 5e-324] {
        let scaled = run(&[("hi", scale), ("mid", 0.0), ("lo", -scale)]);
        let fused = fuse(
            &[&scaled],
            &config(FusionMethod::Score, Normalization::ZScore),
        )
        .unwrap();
        for (doc, z) in scores(&sane) {
            assert!(
                (scores(&fused)[&doc] - z).abs() < 1e-12,
                "{scale}: {doc} {:?}",
                scores(&fused)
            );
        }
    }

    // Every pair of extreme values, in every normalisation.
    for &x in &EXTREMES {
        for &y in &EXTREMES {
            let one = run(&[("x", x), ("y", y)]);
            for normalization in [Normalization::MinMax, Normalization::ZScore] {
                let fused =
                    fuse(&[&one, &one], &config(FusionMethod::Score, normalization)).unwrap();
                assert!(
                    scores(&fused).values().all(|v| v.is_finite()),
                    "{x} {y} {normalization:?}: {:?}",
                    scores(&fused)
                );
            }
            let mut norm = vec![x, y, 0.0];
            fusion::normalize(&mut norm, Normalization::MinMax);
            assert!(norm.iter().all(|v| (0.0..=1.0).contains(v)), "{norm:?}");
        }
    }
}

#[test]
fn a_non_finite_input_score_is_an_error_naming_the_run() {
    let good = run(&[("a", 1.0), ("b", 0.5)]);
    for bad_score in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let bad = run(&[("a", 1.0), ("b", bad_score)]);
        for method in [FusionMethod::Rrf, FusionMethod::Score] {
            let error = fuse(&[&good, &bad], &config(method, Normalization::MinMax))
                .unwrap_err()
                .to_string();
            assert!(
                error.contains("run 2 of 2")
                    && error.contains("non-finite")
                    && error.contains("`b`"),
                "{error}"
            );
        }
    }
}

#[test]
fn a_fused_score_that_overflows_is_an_error_not_inf() {
    // Raw scores: 1e308 + 1e308 is not an f64.
    let a = run(&[("a", 1e308), ("b", 1.0)]);
    let error = fuse(&[&a, &a], &config(FusionMethod::Score, Normalization::None))
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("overflows") && error.contains("normalise"),
        "{error}"
    );
    // Raw scores that fit still fuse.
    let small = run(&[("a", 1e300), ("b", -1e300)]);
    let fused = fuse(
        &[&small, &small],
        &config(FusionMethod::Score, Normalization::None),
    )
    .unwrap();
    assert_eq!(scores(&fused)["a"], 2e300);

    // Weights near f64::MAX overflow in RRF (and score fusion) sums.
    for method in [FusionMethod::Rrf, FusionMethod::Score] {
        let huge = FusionConfig {
            weights: Some(vec![f64::MAX, f64::MAX]),
            rrf_k: 0.0,
            ..config(method, Normalization::MinMax)
        };
        let error = fuse(&[&a, &a], &huge).unwrap_err().to_string();
        assert!(error.contains("overflows"), "{method:?}: {error}");
    }
}
