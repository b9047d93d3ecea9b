//! One module per subcommand.

pub mod bench;
pub mod common;
pub mod embed;
pub mod eval;
pub mod evaluate;
pub mod export;
pub mod long_doc;
pub mod merge;
pub mod mine;
pub mod predict;
pub mod rerank;
pub mod retrieve;
pub mod serve;
pub mod train;

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    fn configs(prefix: &str) -> Vec<PathBuf> {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../configs");
        let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| {
                let name = p.file_name().unwrap().to_string_lossy();
                name.starts_with(prefix) && name.ends_with(".toml")
            })
            .collect();
        found.sort();
        found
    }

    #[test]
    fn shipped_evaluation_and_mining_configs_parse() {
        let eval = configs("eval-");
        assert!(eval.len() >= 2, "{eval:?}");
        for path in eval {
            let config = super::evaluate::load_config(&path).unwrap();
            assert!(!config.rerankers.is_empty(), "{}", path.display());
        }
        let mine = configs("mine-");
        assert!(!mine.is_empty());
        for path in mine {
            let text = std::fs::read_to_string(&path).unwrap();
            toml::from_str::<super::mine::MineFile>(&text)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        }
    }
}
