//! One module per subcommand.

pub mod bench;
pub mod common;
pub mod embed;
pub mod eval;
pub mod evaluate;
pub mod long_doc;
pub mod mine;
pub mod predict;
pub mod rerank;
pub mod retrieve;
pub mod serve;
pub mod train;
