// Which shared data sets the tests may read (`../shared/data` beside the repository, described
// by its DATA.md). For each set below, `cfg(<name>)` is set when its folder exists, and the
// tests that read it carry `#[cfg_attr(not(<name>), ignore = ...)]`, so that without the data
// cargo's summary counts them as ignored instead of passing them. Under `CI=true` the cfgs are
// always set: a missing data set then fails those tests rather than being skipped.
// crates/mining/build.rs includes this file (plain comments here: `include!` takes no `//!`).

use std::path::Path;

/// (cfg name, folder under ../shared/data).
const DATA_SETS: [(&str, &str); 2] = [
    ("shared_data_scifact", "scifact"),
    ("shared_data_flagembedding_toy", "flagembedding-toy"),
];

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=CI");
    let ci = std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1");
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let shared = Path::new(&manifest).join("../../../shared");
    for (cfg, folder) in DATA_SETS {
        let dir = shared.join("data").join(folder);
        println!("cargo::rustc-check-cfg=cfg({cfg})");
        if ci || dir.is_dir() {
            println!("cargo::rustc-cfg={cfg}");
        }
        // Watch the folder, or while it is missing the nearest existing one above it (whose
        // contents change when it arrives): a path that does not exist would make cargo
        // rebuild this crate, and everything that depends on it, on every build.
        let watched = [dir, shared.join("data"), shared.clone()]
            .into_iter()
            .find(|p| p.is_dir());
        if let Some(watched) = watched {
            println!("cargo::rerun-if-changed={}", watched.display());
        }
    }
}
