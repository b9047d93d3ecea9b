//! The OpenAPI 3.0 document served at `/openapi.json`, written by hand next to the schemas in
//! [`crate::schemas`] (a test checks that every route is described and every `$ref` resolves).

use serde_json::{json, Value};

fn error_response(description: &str) -> Value {
    json!({
        "description": description,
        "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } }
    })
}

fn timing_headers() -> Value {
    let header = |what: &str| {
        json!({
            "description": format!("{what}, in milliseconds"),
            "schema": { "type": "string", "example": "12.345" }
        })
    };
    json!({
        "x-queue-time": header("Time the request waited for the inference worker"),
        "x-tokenization-time": header("Time spent tokenizing"),
        "x-inference-time": header("Time the worker spent on the batch this request ran in"),
        "x-total-time": header("Time from request to response"),
        "x-batch-requests": {
            "description": "Requests that shared this request's worker batch (0: all scores came from the cache)",
            "schema": { "type": "integer" }
        }
    })
}

fn json_body(schema: &str) -> Value {
    json!({
        "required": true,
        "description": "Sent with `Content-Type: application/json` (parameters such as `; charset=utf-8` are fine); any other content type, or none, is refused with 415. The whole body must arrive within --body-read-timeout (408 after it).",
        "content": { "application/json": { "schema": { "$ref": format!("#/components/schemas/{schema}") } } }
    })
}

fn ok_json(description: &str, schema: Value, with_timings: bool) -> Value {
    let mut response = json!({
        "description": description,
        "content": { "application/json": { "schema": schema } }
    });
    if with_timings {
        response["headers"] = timing_headers();
    }
    response
}

fn inference_errors(missing_model: &str) -> Value {
    json!({
        "400": error_response("Empty query, documents or inputs (`empty`), or a body that is not JSON (`invalid_json`)"),
        "404": error_response(missing_model),
        "408": error_response("The body did not arrive within --body-read-timeout (`request_timeout`); the connection is closed"),
        "413": error_response("Body larger than --max-body-bytes (`payload_too_large`), more items than --max-client-batch-size, or an input too long with `truncate: false` (`validation`)"),
        "415": error_response("Content-Type is not application/json (`unsupported_media_type`)"),
        "422": error_response("JSON of the wrong shape (`invalid_json`), a parameter out of range (`validation`), or a tokenizer failure (`tokenizer`)"),
        "429": error_response("--max-concurrent-requests requests are already being handled (`overloaded`)"),
        "500": error_response("The model failed on this request (`backend`); the requests batched with it are still answered"),
        "503": error_response("The server is shutting down (`unhealthy`)")
    })
}

fn with_ok(mut responses: Value, ok: Value) -> Value {
    responses["200"] = ok;
    responses
}

fn schemas() -> Value {
    json!({
        "Error": {
            "type": "object",
            "required": ["error", "error_type"],
            "properties": {
                "error": { "type": "string" },
                "error_type": {
                    "type": "string",
                    "enum": ["validation", "payload_too_large", "invalid_json", "unsupported_media_type",
                             "request_timeout", "empty", "tokenizer",
                             "overloaded", "model_not_loaded", "not_found", "method_not_allowed",
                             "backend", "unhealthy"]
                }
            }
        },
        "TeiRerankRequest": {
            "type": "object",
            "required": ["query", "texts"],
            "properties": {
                "query": { "type": "string", "example": "What is Deep Learning?" },
                "texts": { "type": "array", "items": { "type": "string" }, "example": ["Deep Learning is ...", "cheese"] },
                "raw_scores": { "type": "boolean", "default": false, "description": "Raw logits instead of sigmoid scores" },
                "return_text": { "type": "boolean", "default": false },
                "truncate": { "type": "boolean", "default": true, "nullable": true, "description": "Cut pairs longer than the model's input; false refuses them with 413" }
            }
        },
        "TeiRank": {
            "type": "object",
            "required": ["index", "score"],
            "properties": {
                "index": { "type": "integer", "minimum": 0 },
                "score": { "type": "number", "format": "float" },
                "text": { "type": "string" }
            }
        },
        "CohereDocument": {
            "oneOf": [
                { "type": "string" },
                { "type": "object", "required": ["text"], "properties": { "text": { "type": "string" } } }
            ]
        },
        "CohereRerankRequest": {
            "type": "object",
            "required": ["query", "documents"],
            "properties": {
                "model": { "type": "string", "description": "Accepted and ignored" },
                "query": { "type": "string" },
                "documents": { "type": "array", "items": { "$ref": "#/components/schemas/CohereDocument" } },
                "top_n": { "type": "integer", "minimum": 1 },
                "return_documents": { "type": "boolean", "default": false },
                "max_tokens_per_doc": { "type": "integer", "minimum": 1, "description": "Cut each document to this many tokens first" }
            }
        },
        "CohereResult": {
            "type": "object",
            "required": ["index", "relevance_score"],
            "properties": {
                "index": { "type": "integer", "minimum": 0 },
                "relevance_score": { "type": "number", "format": "float" },
                "document": { "type": "object", "required": ["text"], "properties": { "text": { "type": "string" } } }
            }
        },
        "CohereRerankResponse": {
            "type": "object",
            "required": ["id", "results", "meta"],
            "properties": {
                "id": { "type": "string", "format": "uuid" },
                "model": { "type": "string" },
                "results": { "type": "array", "items": { "$ref": "#/components/schemas/CohereResult" } },
                "meta": {
                    "type": "object",
                    "properties": {
                        "api_version": { "type": "object", "properties": { "version": { "type": "string" } } },
                        "billed_units": { "type": "object", "properties": { "search_units": { "type": "integer" } } },
                        "tokens": { "type": "object", "properties": {
                            "input_tokens": { "type": "integer" }, "output_tokens": { "type": "integer" } } }
                    }
                },
                "usage": { "type": "object", "properties": { "total_tokens": { "type": "integer" } } }
            }
        },
        "EmbedRequest": {
            "type": "object",
            "required": ["inputs"],
            "properties": {
                "inputs": { "oneOf": [ { "type": "string" }, { "type": "array", "items": { "type": "string" } } ] },
                "normalize": { "type": "boolean", "default": true, "nullable": true },
                "truncate": { "type": "boolean", "default": true, "nullable": true }
            }
        },
        "EmbedResponse": {
            "type": "array",
            "items": { "type": "array", "items": { "type": "number", "format": "float" } }
        },
        "EmbedAllRequest": {
            "type": "object",
            "required": ["inputs"],
            "properties": {
                "inputs": { "oneOf": [ { "type": "string" }, { "type": "array", "items": { "type": "string" } } ] },
                "queries": { "type": "boolean", "default": false, "description": "Encode as ColBERT queries (prefix, [MASK] expansion) instead of documents" }
            }
        },
        "EmbedAllResponse": {
            "type": "array",
            "items": { "type": "array", "items": { "type": "array", "items": { "type": "number", "format": "float" } } }
        },
        "Health": {
            "type": "object",
            "required": ["status"],
            "properties": { "status": { "type": "string", "example": "ok" } }
        },
        "Info": {
            "type": "object",
            "required": ["model_id", "version", "max_input_length", "limits", "cache_size"],
            "properties": {
                "model_id": { "type": "string" },
                "version": { "type": "string" },
                "max_input_length": { "type": "integer" },
                "reranker": {
                    "type": "object", "nullable": true,
                    "properties": {
                        "model_dir": { "type": "string" },
                        "max_input_length": { "type": "integer" },
                        "long_doc": { "type": "object", "properties": {
                            "mode": { "type": "string", "enum": ["truncate", "max-chunk"] },
                            "window": { "type": "integer" }, "stride": { "type": "integer" },
                            "max_windows": { "type": "integer" } } },
                        "new_head": { "type": "boolean" },
                        "precision": { "type": "string", "enum": ["f32", "bf16", "f16", "int8"] }
                    }
                },
                "embedder": {
                    "type": "object", "nullable": true,
                    "properties": {
                        "model_dir": { "type": "string" },
                        "max_input_length": { "type": "integer" },
                        "dimension": { "type": "integer" },
                        "pooling": { "type": "string", "enum": ["mean", "cls", "max"] },
                        "normalize": { "type": "boolean" },
                        "precision": { "type": "string", "enum": ["f32", "bf16", "f16", "int8"] }
                    }
                },
                "limits": {
                    "type": "object",
                    "properties": {
                        "max_client_batch_size": { "type": "integer" },
                        "max_concurrent_requests": { "type": "integer" },
                        "max_body_bytes": { "type": "integer" },
                        "max_batch_tokens": { "type": "integer" },
                        "max_batch_requests": { "type": "integer" },
                        "max_batch_size": { "type": "integer" }
                    }
                },
                "cache_size": { "type": "integer" }
            }
        }
    })
}

/// The whole document.
pub fn document() -> Value {
    let no_reranker = "The server was started without a reranker (`model_not_loaded`)";
    let no_embedder = "The server was started without an embedding model (`model_not_loaded`)";
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "rankforge serve",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Reranking (text-embeddings-inference and Cohere API shapes) and embedding over rankforge's inference path.",
            "license": { "name": "MIT OR Apache-2.0" }
        },
        "paths": {
            "/rerank": { "post": {
                "operationId": "rerank",
                "summary": "Rerank texts for a query (text-embeddings-inference shape)",
                "requestBody": json_body("TeiRerankRequest"),
                "responses": with_ok(inference_errors(no_reranker), ok_json(
                    "Texts ranked by score, best first",
                    json!({ "type": "array", "items": { "$ref": "#/components/schemas/TeiRank" } }),
                    true))
            }},
            "/v2/rerank": { "post": {
                "operationId": "cohere_rerank",
                "summary": "Rerank documents for a query (Cohere v2 shape; Jina and LiteLLM compatible)",
                "requestBody": json_body("CohereRerankRequest"),
                "responses": with_ok(inference_errors(no_reranker), ok_json(
                    "Documents ranked by relevance, best first",
                    json!({ "$ref": "#/components/schemas/CohereRerankResponse" }),
                    true))
            }},
            "/embed": { "post": {
                "operationId": "embed",
                "summary": "Embed texts with the bi-encoder (text-embeddings-inference shape)",
                "requestBody": json_body("EmbedRequest"),
                "responses": with_ok(inference_errors(no_embedder), ok_json(
                    "One embedding per input",
                    json!({ "$ref": "#/components/schemas/EmbedResponse" }),
                    true))
            }},
            "/embed_all": { "post": {
                "operationId": "embed_all",
                "summary": "Every scored token's vector of each input, with a ColBERT model (text-embeddings-inference shape)",
                "requestBody": json_body("EmbedAllRequest"),
                "responses": with_ok(inference_errors(no_reranker), ok_json(
                    "For each input, its token vectors",
                    json!({ "$ref": "#/components/schemas/EmbedAllResponse" }),
                    true))
            }},
            "/health": { "get": {
                "operationId": "health",
                "summary": "Whether the inference worker runs",
                "responses": {
                    "200": ok_json("Healthy", json!({ "$ref": "#/components/schemas/Health" }), false),
                    "503": error_response("The inference worker is not running (`unhealthy`)")
                }
            }},
            "/info": { "get": {
                "operationId": "info",
                "summary": "Models, max input lengths and limits",
                "responses": {
                    "200": ok_json("Server description", json!({ "$ref": "#/components/schemas/Info" }), false)
                }
            }},
            "/metrics": { "get": {
                "operationId": "metrics",
                "summary": "Prometheus metrics (requests, errors by kind, queue depth, batch sizes, tokens, latency histograms, cache hits)",
                "responses": {
                    "200": {
                        "description": "Prometheus text exposition format 0.0.4",
                        "content": { "text/plain": { "schema": { "type": "string" } } }
                    }
                }
            }},
            "/openapi.json": { "get": {
                "operationId": "openapi",
                "summary": "This document",
                "responses": {
                    "200": ok_json("OpenAPI 3.0 document", json!({ "type": "object" }), false)
                }
            }}
        },
        "components": { "schemas": schemas() }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refs(value: &Value, out: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                for (key, child) in map {
                    if key == "$ref" {
                        out.push(child.as_str().expect("$ref is a string").to_string());
                    } else {
                        refs(child, out);
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|item| refs(item, out)),
            _ => {}
        }
    }

    #[test]
    fn every_route_is_described_and_every_ref_resolves() {
        let doc = document();
        assert_eq!(doc["openapi"], "3.0.3");
        for (path, method) in [
            ("/rerank", "post"),
            ("/v2/rerank", "post"),
            ("/embed", "post"),
            ("/embed_all", "post"),
            ("/health", "get"),
            ("/info", "get"),
            ("/metrics", "get"),
            ("/openapi.json", "get"),
        ] {
            let operation = &doc["paths"][path][method];
            assert!(operation.is_object(), "{method} {path} is not described");
            assert!(operation["responses"]["200"]["description"].is_string());
        }
        let mut found = Vec::new();
        refs(&doc, &mut found);
        assert!(!found.is_empty());
        for reference in found {
            let name = reference
                .strip_prefix("#/components/schemas/")
                .unwrap_or_else(|| panic!("unexpected $ref {reference}"));
            assert!(
                doc["components"]["schemas"][name].is_object(),
                "{reference} does not resolve"
            );
        }
    }

    #[test]
    fn every_error_type_is_listed() {
        let doc = document();
        let listed = doc["components"]["schemas"]["Error"]["properties"]["error_type"]["enum"]
            .as_array()
            .expect("an enum of error types")
            .clone();
        for kind in crate::errors::ErrorKind::ALL {
            assert!(
                listed.contains(&Value::from(kind.as_str())),
                "{} is not in the Error schema",
                kind.as_str()
            );
        }
        assert_eq!(listed.len(), crate::errors::ErrorKind::ALL.len());
    }
}
