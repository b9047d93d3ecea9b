//! Saves, through rankforge's HF writer, the parity fixture's cross-encoder (all-MiniLM-L6-v2 +
//! the fixture's seeded head) and the all-MiniLM-L6-v2 bi-encoder, so that
//! `scripts/reference/check_saved.py` can load them with sentence-transformers, unchanged.
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
    let (bi, _) = BiEncoder::<Cpu>::builder(minilm)
        .load(&device)
        .expect("bi-encoder loads");
    bi.save(&out.join("bi-encoder")).expect("bi-encoder saved");
    println!("{}", out.display());
}
