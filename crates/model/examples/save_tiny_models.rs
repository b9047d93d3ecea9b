//! Saves the tiny XLM-RoBERTa, ELECTRA and ModernBERT models of `tests/fixtures/tiny-models/`
//! through rankforge's load builders and HF writer, so that `scripts/reference/check_tiny_saved.py`
//! can load them with transformers and sentence-transformers, unchanged:
//!
//! - `OUT/xlm-roberta-ce`, `OUT/electra-ce`, `OUT/modernbert-ce`: the cross-encoders, loaded and
//!   saved back;
//! - `OUT/xlm-roberta-bi`, `OUT/modernbert-bi`: the sentence-transformers bi-encoders, loaded and
//!   saved back;
//! - `OUT/{xlm-roberta,modernbert}-bi-as-ce`: each bi-encoder's body with a new seeded head (made
//!   by rankforge, so its names and layout are rankforge's own writing), with rankforge's logits
//!   of the fixture pairs in `OUT/*-bi-as-ce-logits.json`.
//!
//! usage: cargo run -p rankforge-model --example save_tiny_models -- REPO_ROOT OUT_DIR

use std::path::PathBuf;

use rankforge_model::backend::Cpu;
use rankforge_model::{BiEncoder, CrossEncoder};

fn main() {
    let args: Vec<PathBuf> = std::env::args().skip(1).map(PathBuf::from).collect();
    let [root, out] = args.as_slice() else {
        eprintln!("usage: save_tiny_models REPO_ROOT OUT_DIR");
        std::process::exit(2);
    };
    let tiny = root.join("tests/fixtures/tiny-models");
    let device = Default::default();
    for name in ["xlm-roberta-ce", "electra-ce", "modernbert-ce"] {
        let (ce, _) = CrossEncoder::<Cpu>::builder(tiny.join(name))
            .load(&device)
            .expect("cross-encoder loads");
        ce.save(&out.join(name)).expect("cross-encoder saved");
    }
    for name in ["xlm-roberta-bi", "modernbert-bi"] {
        let (bi, _) = BiEncoder::<Cpu>::builder(tiny.join(name))
            .load(&device)
            .expect("bi-encoder loads");
        bi.save(&out.join(name)).expect("bi-encoder saved");
    }
    let fx: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("tests/fixtures/tiny_models.json"))
            .expect("fixture readable"),
    )
    .expect("fixture JSON");
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
    for name in ["xlm-roberta-bi", "modernbert-bi"] {
        let (ce, report) = CrossEncoder::<Cpu>::builder(tiny.join(name))
            .head_seed(11)
            .load(&device)
            .expect("bi-encoder loads as a cross-encoder");
        assert!(report.new_head);
        ce.save(&out.join(format!("{name}-as-ce")))
            .expect("cross-encoder saved");
        let logits: Vec<f32> = ce
            .logits(&refs)
            .expect("logits")
            .into_iter()
            .map(|row| row[0])
            .collect();
        std::fs::write(
            out.join(format!("{name}-as-ce-logits.json")),
            serde_json::to_string(&logits).unwrap(),
        )
        .expect("logits written");
    }
}
