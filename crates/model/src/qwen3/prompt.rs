//! The prompt of a decoder-only reranker: a (query, document) pair rendered by a Jinja
//! template (the model's chat template over the `query` and `document` roles, as
//! sentence-transformers 6 renders pairs, or an explicit template with `{{ query }}` and
//! `{{ document }}`), tokenized without added special tokens, and cut to the max length
//! **keeping the template's suffix**.
//!
//! Rendering is minijinja with transformers' settings (`trim_blocks`, `lstrip_blocks`,
//! loop controls, `raise_exception`, `tojson`, Python string methods through
//! minijinja-contrib's pycompat), the tokenizer's special tokens and the saved
//! `chat_template` kwargs in the context. Truncation is sentence-transformers' (its
//! `Transformer._restore_chat_template_suffix`): the suffix is the longest common token tail of
//! two renders of the pair with different fillers (`"0"`, `"1 2 3 4"`), and a prompt longer than
//! the max length keeps its first `max_length − suffix` tokens and then the suffix, so the body
//! (the query and document, the document first as it comes last) is what gets cut.
//!
//! FlagEmbedding's LLM-reranker layout (bge-reranker-v2-gemma's documented use) is a kind of
//! its own ([`TemplateKind::FlagLlm`]), as its pieces are tokenized apart: BOS, `A: {query}`
//! (cut at 3/4 of the max length), `\n` `B: {document}` (cut so the two fit the max length),
//! then `\n` and the instruction, which the max length does not count.

use std::path::Path;

use minijinja::{Environment, ErrorKind, Value as JValue};
use serde_json::{Map, Value};
use tokenizers::Tokenizer;

use crate::error::{ModelError, Result};

/// How a pair's messages carry their text (sentence-transformers' `message_format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageFormat {
    /// `{"role": "query", "content": "…"}`.
    Flat,
    /// `{"role": "query", "content": [{"type": "text", "text": "…"}]}`.
    Structured,
}

impl MessageFormat {
    /// sentence-transformers' inference from the template source when not saved: structured
    /// when the template reads typed content.
    pub fn infer(template: &str) -> Self {
        let structured = [
            "content[0]",
            ".type",
            "'type'",
            "\"type\"",
            "item.type",
            "message.content[",
        ];
        if structured.iter().any(|p| template.contains(p)) {
            MessageFormat::Structured
        } else {
            MessageFormat::Flat
        }
    }
}

/// What a template renders from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateKind {
    /// A chat template over `messages` with the `query` and `document` roles.
    Chat(MessageFormat),
    /// A template with `query` and `document` variables (`messages` is there too).
    Plain,
    /// FlagEmbedding's `FlagLLMReranker` layout with this instruction (no template).
    FlagLlm(String),
}

/// The ids of [`TemplateKind::FlagLlm`]'s fixed pieces.
#[derive(Debug, Clone)]
struct FlagPieces {
    bos: u32,
    sep: Vec<u32>,
    instruction: Vec<u32>,
}

/// A compiled prompt: the template, its context, the tokenizer, the suffix and the max length.
/// Clonable, to build prompts away from the thread that holds the model (a server's handlers).
#[derive(Debug, Clone)]
pub struct PromptBuilder {
    env: Environment<'static>,
    kind: TemplateKind,
    /// Special tokens and saved template kwargs.
    context: Map<String, Value>,
    tokenizer: Tokenizer,
    /// A system message before the pair (sentence-transformers' `prompt`).
    system: Option<String>,
    flag: Option<FlagPieces>,
    suffix: Vec<u32>,
    max_length: usize,
}

const TEMPLATE: &str = "prompt";

fn template_error(e: minijinja::Error) -> ModelError {
    let mut message = format!("prompt template: {e}");
    let mut source = std::error::Error::source(&e);
    while let Some(cause) = source {
        message.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    ModelError::Invalid(message)
}

impl PromptBuilder {
    /// Compiles `template` (of `kind`), with `context` (special tokens, template kwargs) for
    /// every render and `system` (a message before the pair; a plain template sees it as
    /// `instruction`), and derives its suffix. `tokenizer` must not truncate or pad.
    pub fn new(
        template: &str,
        kind: TemplateKind,
        context: Map<String, Value>,
        system: Option<String>,
        tokenizer: Tokenizer,
        max_length: usize,
    ) -> Result<Self> {
        let mut env = Environment::new();
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        env.add_function(
            "raise_exception",
            |message: String| -> std::result::Result<JValue, minijinja::Error> {
                Err(minijinja::Error::new(ErrorKind::InvalidOperation, message))
            },
        );
        env.add_template_owned(TEMPLATE, template.to_string())
            .map_err(template_error)?;
        let mut builder = Self {
            env,
            kind,
            context,
            tokenizer,
            system,
            flag: None,
            suffix: Vec::new(),
            max_length,
        };
        builder.suffix = builder.derive_suffix()?;
        Ok(builder)
    }

    /// FlagEmbedding's `FlagLLMReranker` layout: `bos` + `A: {query}` and `\n` + `B:
    /// {document}` within `max_length` tokens, then `\n` + `instruction` (its pieces are the
    /// suffix, outside the max length).
    pub fn flag_llm(
        instruction: &str,
        bos: u32,
        tokenizer: Tokenizer,
        max_length: usize,
    ) -> Result<Self> {
        let mut builder = Self {
            env: Environment::new(),
            kind: TemplateKind::FlagLlm(instruction.to_string()),
            context: Map::new(),
            tokenizer,
            system: None,
            flag: None,
            suffix: Vec::new(),
            max_length,
        };
        let sep = builder.tokenize("\n")?;
        let instruction = builder.tokenize(instruction)?;
        builder.suffix = [sep.as_slice(), instruction.as_slice()].concat();
        builder.flag = Some(FlagPieces {
            bos,
            sep,
            instruction,
        });
        Ok(builder)
    }

    /// The system message before each pair, if any.
    pub fn system(&self) -> Option<&str> {
        self.system.as_deref()
    }

    pub fn kind(&self) -> &TemplateKind {
        &self.kind
    }

    pub fn max_length(&self) -> usize {
        self.max_length
    }

    /// The template's suffix ids, restored at the end of a truncated prompt.
    pub fn suffix(&self) -> &[u32] {
        &self.suffix
    }

    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// The rendered prompt of a pair (FlagEmbedding's layout: its pieces joined, untruncated).
    pub fn render(&self, query: &str, document: &str) -> Result<String> {
        if let (TemplateKind::FlagLlm(instruction), Some(flag)) = (&self.kind, &self.flag) {
            let bos = self.tokenizer.id_to_token(flag.bos).unwrap_or_default();
            return Ok(format!("{bos}A: {query}\nB: {document}\n{instruction}"));
        }
        let message = |role: &str, text: &str| -> Value {
            match self.kind {
                TemplateKind::Chat(MessageFormat::Structured) => serde_json::json!({
                    "role": role,
                    "content": [{"type": "text", "text": text}],
                }),
                _ => serde_json::json!({"role": role, "content": text}),
            }
        };
        let mut context = self.context.clone();
        context
            .entry("add_generation_prompt")
            .or_insert(Value::Bool(false));
        let mut messages = Vec::with_capacity(3);
        if let Some(system) = &self.system {
            messages.push(message("system", system));
            context.insert("instruction".into(), Value::String(system.clone()));
        }
        messages.push(message("query", query));
        messages.push(message("document", document));
        context.insert("messages".into(), Value::Array(messages));
        context.insert("query".into(), Value::String(query.into()));
        context.insert("document".into(), Value::String(document.into()));
        self.env
            .get_template(TEMPLATE)
            .and_then(|t| t.render(JValue::from_serialize(&context)))
            .map_err(template_error)
    }

    fn tokenize(&self, text: &str) -> Result<Vec<u32>> {
        Ok(self
            .tokenizer
            .encode(text, false)
            .map_err(|e| ModelError::Tokenizer(e.to_string()))?
            .get_ids()
            .to_vec())
    }

    /// sentence-transformers' suffix: the common token tail of two renders with different
    /// fillers, unless the renders never differ.
    fn derive_suffix(&self) -> Result<Vec<u32>> {
        let first = self.tokenize(&self.render("0", "0")?)?;
        let second = self.tokenize(&self.render("1 2 3 4", "1 2 3 4")?)?;
        if first == second {
            return Err(ModelError::Invalid(
                "prompt template: the query and document do not reach the rendered prompt (a \
                 chat template needs the `query` and `document` roles, a plain template \
                 `{{ query }}` and `{{ document }}`)"
                    .into(),
            ));
        }
        let count = first
            .iter()
            .rev()
            .zip(second.iter().rev())
            .take_while(|(a, b)| a == b)
            .count();
        Ok(if count > 0 && count < first.len().min(second.len()) {
            first[first.len() - count..].to_vec()
        } else {
            Vec::new()
        })
    }

    /// The prompt ids of a pair: the whole render, or, when longer than the max length, its
    /// first `max_length − suffix` tokens and the suffix.
    pub fn encode(&self, query: &str, document: &str) -> Result<Vec<u32>> {
        if let Some(flag) = &self.flag {
            let mut query = self.tokenize(&format!("A: {query}"))?;
            query.truncate(self.max_length * 3 / 4);
            let mut document = self.tokenize(&format!("B: {document}"))?;
            document.truncate(self.max_length);
            let mut ids = Vec::with_capacity(self.max_length + self.suffix.len());
            ids.push(flag.bos);
            ids.extend(query);
            let room = self.max_length.saturating_sub(ids.len());
            ids.extend(flag.sep.iter().chain(&document).take(room));
            ids.extend(&flag.sep);
            ids.extend(&flag.instruction);
            return Ok(ids);
        }
        let ids = self.tokenize(&self.render(query, document)?)?;
        Ok(fit(ids, &self.suffix, self.max_length))
    }
}

/// `ids` cut to `max_length` with `suffix` written over its last tokens when cut.
pub fn fit(mut ids: Vec<u32>, suffix: &[u32], max_length: usize) -> Vec<u32> {
    if ids.len() <= max_length {
        return ids;
    }
    ids.truncate(max_length);
    let keep = suffix.len().min(max_length);
    ids[max_length - keep..].copy_from_slice(&suffix[suffix.len() - keep..]);
    ids
}

/// The chat template of a model directory: `chat_template.jinja` (transformers 5), else
/// `tokenizer_config.json`'s `chat_template` (a string, or named templates: `default`).
pub fn chat_template(dir: &Path) -> Option<String> {
    if let Ok(text) = std::fs::read_to_string(dir.join("chat_template.jinja")) {
        return Some(text);
    }
    let config = tokenizer_config(dir)?;
    match config.get("chat_template")? {
        Value::String(s) => Some(s.clone()),
        Value::Array(named) => named
            .iter()
            .find(|t| t.get("name").and_then(Value::as_str) == Some("default"))
            .and_then(|t| t.get("template"))
            .and_then(Value::as_str)
            .map(String::from),
        _ => None,
    }
}

/// `tokenizer_config.json`, if readable.
pub fn tokenizer_config(dir: &Path) -> Option<Map<String, Value>> {
    let text = std::fs::read_to_string(dir.join("tokenizer_config.json")).ok()?;
    match serde_json::from_str(&text).ok()? {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

/// The special tokens a template sees (`bos_token`, `eos_token`, …), as transformers passes
/// its `special_tokens_map`: from `tokenizer_config.json`, strings or `{"content": …}`.
pub fn special_tokens(dir: &Path) -> Map<String, Value> {
    let mut out = Map::new();
    let Some(config) = tokenizer_config(dir) else {
        return out;
    };
    for key in [
        "bos_token",
        "eos_token",
        "unk_token",
        "sep_token",
        "pad_token",
        "cls_token",
        "mask_token",
    ] {
        let token = match config.get(key) {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Object(o)) => o.get("content").and_then(Value::as_str).map(String::from),
            _ => None,
        };
        if let Some(token) = token {
            out.insert(key.into(), Value::String(token));
        }
    }
    out
}
