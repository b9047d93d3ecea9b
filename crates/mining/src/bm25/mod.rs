//! Okapi BM25: configuration, inverted index, exact top-k search, persistence.

pub mod config;
pub mod index;
pub mod search;
pub mod storage;

pub use config::{Bm25Config, Bm25Variant};
pub use index::{Bm25Builder, Bm25Index, IndexDocument};
pub use search::{Hit, SearchScratch};
pub use storage::FORMAT_VERSION;
