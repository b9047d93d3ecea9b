//! Max-chunk (MaxP) on the real model sees the whole document: a passage past the model's max
//! length changes the score, and documents longer than the window cap are cut short with a
//! count, never silently.
//!
//! all-MiniLM-L6-v2 has no relevance head, so the tests give it one: a linear probe on the
//! pooled `[CLS]` vector pointing from "query + filler" to "query + answer" (the difference of
//! the two pooled vectors, the bias halfway). It is fitted on two short pairs only; the long
//! documents are scored through the ordinary max-chunk path.

mod common;

use common::*;
use rankforge_model::layers::Linear;
use rankforge_model::{Activation, CrossEncoder, LongDocMode, LongDocSettings};

const QUERY: &str = "What is the capital of France?";
const ANSWER: &str = "Paris is the capital and most populous city of France.";
const FILLER: &str = "The weather report mentioned light rain in the afternoon. ";
const WINDOW: usize = 128;
const STRIDE: usize = 96;
/// How much higher the answer's document must score: the probe gives the short pairs ±0.41 and
/// the long documents -0.25 (answer in one window of filler) vs -0.39 (filler only); before the
/// fix both were scored on the same first 512 tokens, a difference of exactly 0.
const MARGIN: f32 = 0.05;

/// `FILLER` repeated to more than `tokens` tokens.
fn filler(ce: &CrossEncoder<B>, tokens: usize) -> String {
    let per = ce
        .tokenizer
        .inner()
        .encode(FILLER, false)
        .unwrap()
        .get_ids()
        .len();
    FILLER.repeat(tokens / per + 1)
}

/// Tokens of `text` on its own, uncut.
fn token_count(ce: &CrossEncoder<B>, text: &str) -> usize {
    let mut tokenizer = ce.tokenizer.inner().clone();
    tokenizer.with_truncation(None).unwrap();
    tokenizer.encode(text, false).unwrap().get_ids().len()
}

/// all-MiniLM-L6-v2 as a max-chunk cross-encoder with the probe head, raw logits as scores.
fn probe_scorer(long_doc: LongDocSettings) -> CrossEncoder<B> {
    let device = Default::default();
    let (mut ce, _) = CrossEncoder::<B>::builder(minilm_dir())
        .activation(Activation::Identity)
        .long_doc(long_doc)
        .load(&device)
        .unwrap();
    assert_eq!(ce.tokenizer.max_length(), 512);
    let hidden = ce.config.hidden_size();
    // An identity head: the logits are the pooled vectors.
    ce.model.as_bert_mut().unwrap().classifier = Linear::new(hidden, hidden, &device);
    let identity: Vec<f32> = (0..hidden * hidden)
        .map(|i| if i / hidden == i % hidden { 1.0 } else { 0.0 })
        .collect();
    ce.model = ce.model.set_head(&identity, &vec![0.0; hidden]);
    let short_filler = FILLER.repeat(2);
    let pooled = ce
        .logits(&[(QUERY, ANSWER), (QUERY, short_filler.as_str())])
        .unwrap();
    let (relevant, filler) = (&pooled[0], &pooled[1]);
    let weight: Vec<f32> = relevant.iter().zip(filler).map(|(r, f)| r - f).collect();
    let bias = -weight
        .iter()
        .zip(relevant.iter().zip(filler))
        .map(|(w, (r, f))| w * (r + f) / 2.0)
        .sum::<f32>();
    ce.model.as_bert_mut().unwrap().classifier = Linear::new(hidden, 1, &device);
    ce.model = ce.model.set_head(&weight, &[bias]);
    ce
}

fn max_chunk() -> LongDocSettings {
    LongDocMode::MaxChunk {
        window: WINDOW,
        stride: STRIDE,
    }
    .into()
}

/// The probe ranks the short pairs it was made from, and truncation cannot see a passage past
/// the max length: the setting in which max-chunk must.
#[test]
fn the_probe_head_separates_answer_from_filler() {
    let ce = probe_scorer(max_chunk());
    let short_filler = FILLER.repeat(2);
    let scores = ce
        .score(&[(QUERY, ANSWER), (QUERY, short_filler.as_str())])
        .unwrap();
    assert!(scores[0] > 0.0 && scores[1] < 0.0, "{scores:?}");
}

/// A document whose only relevant passage starts past token 1,000 scores higher than the same
/// filler without it (before the fix both were cut at 512 tokens and scored alike).
#[test]
fn a_passage_past_token_1000_is_found() {
    let ce = probe_scorer(max_chunk());
    let filler = filler(&ce, 1_000);
    assert!(token_count(&ce, &filler) > 1_000);
    let with_answer = format!("{filler}{ANSWER}");
    let scores = ce
        .score(&[(QUERY, with_answer.as_str()), (QUERY, filler.as_str())])
        .unwrap();
    assert!(scores.iter().all(|s| s.is_finite()), "{scores:?}");
    assert!(
        scores[0] > scores[1] + MARGIN,
        "answer after 1,000 filler tokens: {} vs filler alone: {}",
        scores[0],
        scores[1]
    );
    // The answer's windows lie past the model's max length.
    let windows = ce
        .tokenizer
        .encode_pair_windows(QUERY, &with_answer, WINDOW, STRIDE, 64)
        .unwrap();
    assert_eq!(
        windows.ranges.last().unwrap().end,
        windows.document_tokens,
        "the windows reach the document's end"
    );
    assert!(windows.document_tokens > 1_000);
    assert!(!windows.capped());
    assert_eq!(ce.capped_documents(), 0);
}

/// Four documents with the same 1,000-token start and different tails get four different
/// scores (before the fix all four were the same 512 tokens).
#[test]
fn documents_differing_only_in_their_tails_score_differently() {
    let ce = probe_scorer(max_chunk());
    let start = filler(&ce, 1_000);
    let tails = [
        ANSWER,
        "The capital of France is Paris, on the river Seine.",
        "Paris, the French capital, hosts the national government.",
        "France's capital city Paris is known for the Eiffel Tower.",
    ];
    let docs: Vec<String> = tails.iter().map(|t| format!("{start}{t}")).collect();
    let pairs: Vec<(&str, &str)> = docs.iter().map(|d| (QUERY, d.as_str())).collect();
    let scores = ce.score(&pairs).unwrap();
    let filler_score = ce.score(&[(QUERY, start.as_str())]).unwrap()[0];
    for i in 0..scores.len() {
        assert!(
            scores[i] > filler_score,
            "tail {i}: {scores:?} vs {filler_score}"
        );
        for j in 0..i {
            assert!(
                (scores[i] - scores[j]).abs() > 1e-4,
                "tails {j} and {i} score alike: {scores:?}"
            );
        }
    }
}

/// With a cap of 4 windows the 1,000-token document is scored on its first 4 windows only:
/// the answer at its end is out of reach, and the scorer counts the document as capped.
#[test]
fn the_window_cap_is_applied_and_counted() {
    let capped = probe_scorer(max_chunk().with_max_windows(4));
    assert_eq!(capped.max_windows, 4);
    let filler = filler(&capped, 1_000);
    let with_answer = format!("{filler}{ANSWER}");
    let pairs = [
        (QUERY, with_answer.as_str()),
        (QUERY, filler.as_str()),
        (QUERY, ANSWER),
    ];
    let encoded = capped.encode_counted(&pairs).unwrap();
    assert_eq!(encoded.capped_documents, 2);
    assert_eq!(encoded.max_windows, 4);
    assert_eq!(encoded.owners.iter().filter(|&&o| o == 0).count(), 4);
    assert_eq!(encoded.owners.iter().filter(|&&o| o == 2).count(), 1);
    let warning = encoded.cap_warning().unwrap();
    assert!(
        warning.contains("2 document(s) need more than 4 windows"),
        "{warning}"
    );
    assert!(warning.contains("--chunk-max-windows"), "{warning}");
    assert_eq!(capped.capped_documents(), 2);

    let scores = capped
        .score(&[(QUERY, with_answer.as_str()), (QUERY, filler.as_str())])
        .unwrap();
    assert!(
        (scores[0] - scores[1]).abs() <= 1e-5,
        "the first 4 windows are the same filler: {scores:?}"
    );
    assert_eq!(capped.capped_documents(), 4, "counted on every call");

    // The default cap (64 windows of 128 every 96 tokens) covers this document whole.
    let uncapped = probe_scorer(max_chunk());
    let scores = uncapped
        .score(&[(QUERY, with_answer.as_str()), (QUERY, filler.as_str())])
        .unwrap();
    assert!(scores[0] > scores[1] + MARGIN, "{scores:?}");
    assert_eq!(uncapped.capped_documents(), 0);
}

/// A cap of 0 windows is refused at load.
#[test]
fn a_cap_of_zero_windows_is_refused() {
    let err = CrossEncoder::<B>::builder(minilm_dir())
        .long_doc(max_chunk().with_max_windows(0))
        .load(&Default::default())
        .unwrap_err();
    assert!(err.to_string().contains("at least 1 window"), "{err}");
}
