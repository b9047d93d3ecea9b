//! Request and response bodies, in the shapes clients already send: text-embeddings-inference
//! (`/rerank`, `/embed`) and Cohere (`/v2/rerank`, which Jina and LiteLLM also speak). Unknown
//! fields are ignored, as those servers do.

use serde::{Deserialize, Serialize};

/// `POST /rerank` (text-embeddings-inference).
#[derive(Debug, Clone, Deserialize)]
pub struct TeiRerankRequest {
    pub query: String,
    pub texts: Vec<String>,
    /// Raw logits instead of sigmoid scores.
    #[serde(default)]
    pub raw_scores: bool,
    /// Echo each text in its result.
    #[serde(default)]
    pub return_text: bool,
    /// Cut pairs longer than the model's input (default); `false`: refuse them with 413.
    #[serde(default)]
    pub truncate: Option<bool>,
}

/// One `/rerank` result; the list is sorted by score, highest first.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TeiRank {
    pub index: usize,
    pub score: f32,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub text: Option<String>,
}

/// A Cohere document: a string, or an object with a `text` field (other fields are ignored).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum DocumentInput {
    Text(String),
    Object { text: String },
}

impl DocumentInput {
    pub fn text(&self) -> &str {
        match self {
            DocumentInput::Text(text) | DocumentInput::Object { text } => text,
        }
    }
}

/// `POST /v2/rerank` (Cohere; also Jina and LiteLLM).
#[derive(Debug, Clone, Deserialize)]
pub struct CohereRerankRequest {
    /// Accepted and ignored: this server has one reranker.
    #[serde(default)]
    pub model: Option<String>,
    pub query: String,
    pub documents: Vec<DocumentInput>,
    /// Return only the best `top_n` (default: all).
    #[serde(default)]
    pub top_n: Option<usize>,
    /// Echo each document as `{"text": ...}` in its result (default false).
    #[serde(default)]
    pub return_documents: Option<bool>,
    /// Cut each document to this many tokens before pairing it with the query.
    #[serde(default)]
    pub max_tokens_per_doc: Option<usize>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DocumentText {
    pub text: String,
}

/// One `/v2/rerank` result; the list is sorted by relevance, highest first.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CohereResult {
    pub index: usize,
    pub relevance_score: f32,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub document: Option<DocumentText>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ApiVersion {
    pub version: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BilledUnits {
    /// Cohere bills one search unit per query with up to 100 documents.
    pub search_units: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TokenCounts {
    pub input_tokens: usize,
    pub output_tokens: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CohereMeta {
    pub api_version: ApiVersion,
    pub billed_units: BilledUnits,
    pub tokens: TokenCounts,
}

/// Jina's usage block (Jina clients read it; Cohere clients ignore it).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Usage {
    pub total_tokens: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CohereRerankResponse {
    pub id: String,
    pub model: String,
    pub results: Vec<CohereResult>,
    pub meta: CohereMeta,
    pub usage: Usage,
}

/// `inputs` of `/embed`: one text or a list.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum EmbedInputs {
    One(String),
    Many(Vec<String>),
}

impl EmbedInputs {
    pub fn into_vec(self) -> Vec<String> {
        match self {
            EmbedInputs::One(text) => vec![text],
            EmbedInputs::Many(texts) => texts,
        }
    }
}

/// `POST /embed` (text-embeddings-inference); the answer is `[[f32]]`, one row per input.
#[derive(Debug, Clone, Deserialize)]
pub struct EmbedRequest {
    pub inputs: EmbedInputs,
    /// L2-normalise (default true, as text-embeddings-inference).
    #[serde(default)]
    pub normalize: Option<bool>,
    /// Cut inputs longer than the model's input (default); `false`: refuse them with 413.
    #[serde(default)]
    pub truncate: Option<bool>,
}

/// `POST /embed_all` (text-embeddings-inference's per-token endpoint) with a ColBERT model;
/// the answer is `[[[f32]]]`: for each input, its scored token vectors (unit length, `dim`
/// wide).
#[derive(Debug, Clone, Deserialize)]
pub struct EmbedAllRequest {
    pub inputs: EmbedInputs,
    /// Encode the inputs as queries (query prefix, `[MASK]` expansion to `query_length`)
    /// rather than as documents (the default: document prefix, skiplist tokens left out).
    #[serde(default)]
    pub queries: bool,
}

/// `GET /health`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct HealthResponse {
    pub status: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RerankerDescription {
    pub model_dir: String,
    pub max_input_length: usize,
    /// `truncate`, or `max-chunk` with its window and stride.
    pub long_doc: serde_json::Value,
    /// The checkpoint had no classification head; a seeded one was made.
    pub new_head: bool,
    /// `--precision`: f32, bf16, f16 or int8.
    pub precision: String,
    /// A ColBERT reranker: `{"dim", "query_length", "document_length"}` (scores are MaxSim
    /// sums; `max_input_length` is the document length). Absent for a cross-encoder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub colbert: Option<serde_json::Value>,
    /// A generative reranker (T5): `{"template", "true_token", "false_token"}`; a decoder-only
    /// one (Qwen3, Gemma): `{"kind": "decoder-only", "model_type", "rule", "true_token",
    /// "false_token", "system"}` (scores are the sigmoid of true − false logit, or its raw
    /// value). Absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generative: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EmbedderDescription {
    pub model_dir: String,
    pub max_input_length: usize,
    pub dimension: usize,
    pub pooling: String,
    pub normalize: bool,
    /// `--precision`: f32, bf16, f16 or int8.
    pub precision: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Limits {
    pub max_client_batch_size: usize,
    pub max_concurrent_requests: usize,
    pub max_body_bytes: usize,
    pub max_batch_tokens: usize,
    pub max_batch_requests: usize,
    pub max_batch_size: usize,
}

/// `GET /info`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct InfoResponse {
    pub model_id: String,
    pub version: String,
    /// The reranker's max input length (else the embedder's).
    pub max_input_length: usize,
    pub reranker: Option<RerankerDescription>,
    pub embedder: Option<EmbedderDescription>,
    pub limits: Limits,
    /// Scores the cache holds at most (0: no cache).
    pub cache_size: usize,
}
