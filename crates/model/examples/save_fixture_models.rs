//! Saves, through rankforge's HF writer, the parity fixture's cross-encoder (all-MiniLM-L6-v2 +
//! the fixture's seeded head) and the all-MiniLM-L6-v2 bi-encoder, so that
//! `scripts/reference/check_saved.py` can load them with sentence-transformers, unchanged; and
//! the cross-encoder saved at 48 tokens with rankforge's scores of the reloaded model, so the
//! script checks that sentence-transformers picks up the saved length too.
//!
//! usage: cargo run -p rankforge-model --example save_fixture_models -- MINILM_DIR FIXTURE OUT_DIR

use std::path::PathBuf;

use rankforge_model::backend::Cpu;
use rankforge_model::{BiEncoder, CrossEncoder};

fn main() {
    let args: Vec<PathBuf> = std::env::args().skip(1).map(PathBuf::from).collect();
    let [minilm, fixture, out] = args.as_slice() else {
        eprintln!("usage: save_fixture_models MINILM_DIR FIXTURE_JSON OUT_DIR");
        std::process::exit(2);
    };
    let fx: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture).expect("fixture readable"))
            .expect("fixture JSON");
    let floats = |v: &serde_json::Value| -> Vec<f32> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap() as f32)
            .collect()
    };
    let device = Default::default();
    let (mut ce, _) = CrossEncoder::<Cpu>::builder(minilm)
        .head_seed(0)
        .load(&device)
        .expect("cross-encoder loads");
    ce.model = ce
        .model
        .set_head(&floats(&fx["head"]["weight"]), &floats(&fx["head"]["bias"]));
    ce.save(&out.join("cross-encoder"))
        .expect("cross-encoder saved");
    // The same model saved at a short length (as a run trained at 48 tokens saves it), with
    // rankforge's scores at that length for the check script to compare with.
    let short_dir = out.join("cross-encoder-48");
    ce.tokenizer = rankforge_model::tokenizer_for_model(minilm, Some(48), &ce.config)
        .expect("tokenizer at 48");
    ce.save(&short_dir).expect("short cross-encoder saved");
    let pairs: Vec<(String, String)> = fx["pairs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p[0].as_str().unwrap().into(), p[1].as_str().unwrap().into()))
        .collect();
    let refs: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(q, d)| (q.as_str(), d.as_str()))
        .collect();
    let (reloaded, _) = CrossEncoder::<Cpu>::builder(&short_dir)
        .load(&device)
        .expect("short cross-encoder loads");
    let scores = reloaded.score(&refs).expect("scores");
    std::fs::write(
        out.join("cross-encoder-48-scores.json"),
        serde_json::to_string(&scores).unwrap(),
    )
    .expect("scores written");
    let (bi, _) = BiEncoder::<Cpu>::builder(minilm)
        .load(&device)
        .expect("bi-encoder loads");
    bi.save(&out.join("bi-encoder")).expect("bi-encoder saved");
    println!("{}", out.display());
}
