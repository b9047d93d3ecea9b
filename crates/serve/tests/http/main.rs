//! Integration tests: real servers on 127.0.0.1 (port 0), called over HTTP with reqwest, their
//! answers compared with the library (`CrossEncoder::score`, `BiEncoder::embed`).

mod cache;
mod concurrency;
mod connections;
mod embed;
mod errors;
mod lifecycle;
mod rerank;
mod support;
