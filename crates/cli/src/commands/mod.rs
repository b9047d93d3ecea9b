//! One module per subcommand.

pub mod bench;
pub mod common;
pub mod embed;
pub mod eval;
pub mod long_doc;
pub mod predict;
pub mod rerank;
pub mod train;
