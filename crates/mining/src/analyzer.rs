//! Text analysis for BM25: Unicode lowercasing, word splitting, stop-word removal, Snowball
//! stemming, and character n-grams for CJK scripts.
//!
//! The defaults reproduce bm25s's tokenizer (`bm25s.tokenize(texts, stopwords="en",
//! stemmer=Stemmer("english"))`): lowercase, keep maximal runs of word characters that are at
//! least two characters long (scikit-learn's `(?u)\b\w\w+\b`), drop the 33 English stop words,
//! stem with Snowball English. Han, Hiragana, Katakana and Hangul runs carry no spaces between
//! words, so instead of becoming one giant token (or vanishing under the two-character rule)
//! they are cut into overlapping character bigrams, as Lucene's `CJKBigramFilter` does.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};
use unicode_segmentation::UnicodeSegmentation;

use crate::error::{MiningError, Result};
use crate::stopwords;

/// How text is cut into words.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Splitter {
    /// Maximal runs of letters, digits and `_` (Unicode-aware), like the regex `\w+`. This is
    /// what bm25s and scikit-learn do, so scores match bm25s's. Default.
    #[default]
    WordChars,
    /// Unicode word boundaries (UAX #29, the `unicode-segmentation` crate): keeps `don't`,
    /// `3.14` and `e.g` together.
    Uax29,
}

/// How runs of CJK characters (Han, Hiragana, Katakana, Hangul) become tokens.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CjkMode {
    /// Overlapping bigrams; a run of one character is kept as a unigram. Default (Lucene's
    /// `CJKAnalyzer`).
    #[default]
    Bigrams,
    /// One token per character.
    Unigrams,
    /// Both unigrams and bigrams.
    UnigramsAndBigrams,
}

/// Snowball stemmer language (`rust-stemmers`), or `none`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StemmerLanguage {
    None,
    Arabic,
    Danish,
    Dutch,
    #[default]
    English,
    Finnish,
    French,
    German,
    Greek,
    Hungarian,
    Italian,
    Norwegian,
    Portuguese,
    Romanian,
    Russian,
    Spanish,
    Swedish,
    Tamil,
    Turkish,
}

impl StemmerLanguage {
    fn algorithm(self) -> Option<rust_stemmers::Algorithm> {
        use rust_stemmers::Algorithm as A;
        Some(match self {
            StemmerLanguage::None => return None,
            StemmerLanguage::Arabic => A::Arabic,
            StemmerLanguage::Danish => A::Danish,
            StemmerLanguage::Dutch => A::Dutch,
            StemmerLanguage::English => A::English,
            StemmerLanguage::Finnish => A::Finnish,
            StemmerLanguage::French => A::French,
            StemmerLanguage::German => A::German,
            StemmerLanguage::Greek => A::Greek,
            StemmerLanguage::Hungarian => A::Hungarian,
            StemmerLanguage::Italian => A::Italian,
            StemmerLanguage::Norwegian => A::Norwegian,
            StemmerLanguage::Portuguese => A::Portuguese,
            StemmerLanguage::Romanian => A::Romanian,
            StemmerLanguage::Russian => A::Russian,
            StemmerLanguage::Spanish => A::Spanish,
            StemmerLanguage::Swedish => A::Swedish,
            StemmerLanguage::Tamil => A::Tamil,
            StemmerLanguage::Turkish => A::Turkish,
        })
    }
}

/// A built-in stop-word list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopWordList {
    /// Keep every word.
    None,
    /// bm25s's English list (33 words, = Lucene's).
    English,
}

/// Stop words: a built-in list by name (`"english"`, `"none"`) or an explicit list of words
/// (compared after lowercasing, before stemming).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum StopWords {
    Builtin(StopWordList),
    Custom(Vec<String>),
}

impl Default for StopWords {
    fn default() -> Self {
        StopWords::Builtin(StopWordList::English)
    }
}

/// Analyzer settings. Every field has a default, so a TOML table may name only some; the
/// defaults match bm25s with English stop words and the Snowball English stemmer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AnalyzerConfig {
    /// Unicode lowercasing before splitting (default true).
    pub lowercase: bool,
    /// Word splitting (default `word_chars`).
    pub splitter: Splitter,
    /// Shortest non-CJK token kept, in characters (default 2, like bm25s's `\w\w+`).
    pub min_token_chars: usize,
    /// Stop words (default `"english"`).
    pub stopwords: StopWords,
    /// Snowball stemmer language (default `english`; `none` to keep words as they are).
    pub stemmer: StemmerLanguage,
    /// Tokens for CJK runs (default `bigrams`).
    pub cjk: CjkMode,
}

impl Default for AnalyzerConfig {
    fn default() -> Self {
        Self {
            lowercase: true,
            splitter: Splitter::WordChars,
            min_token_chars: 2,
            stopwords: StopWords::default(),
            stemmer: StemmerLanguage::English,
            cjk: CjkMode::Bigrams,
        }
    }
}

/// Turns text into index terms. Cheap to share between threads; for bulk work wrap it in a
/// [`CachedAnalyzer`], which remembers the stem of every word it has seen.
pub struct Analyzer {
    config: AnalyzerConfig,
    stopwords: HashSet<String>,
    stemmer: Option<rust_stemmers::Stemmer>,
}

impl std::fmt::Debug for Analyzer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Analyzer")
            .field("config", &self.config)
            .finish()
    }
}

/// A piece of text found by the splitter.
enum Piece<'a> {
    /// A run of non-CJK word characters.
    Word(&'a str),
    /// A run of CJK characters.
    Cjk(&'a str),
}

impl Analyzer {
    pub fn new(config: AnalyzerConfig) -> Result<Self> {
        if config.min_token_chars == 0 {
            return Err(MiningError::Config(
                "analyzer.min_token_chars must be at least 1".into(),
            ));
        }
        let stopwords = match &config.stopwords {
            StopWords::Builtin(StopWordList::None) => HashSet::new(),
            StopWords::Builtin(StopWordList::English) => {
                stopwords::ENGLISH.iter().map(|w| w.to_string()).collect()
            }
            StopWords::Custom(words) => words.iter().map(|w| w.to_lowercase()).collect(),
        };
        let stemmer = config
            .stemmer
            .algorithm()
            .map(rust_stemmers::Stemmer::create);
        Ok(Self {
            config,
            stopwords,
            stemmer,
        })
    }

    pub fn config(&self) -> &AnalyzerConfig {
        &self.config
    }

    /// The terms of `text`, in order.
    pub fn tokens(&self, text: &str) -> Vec<String> {
        let mut out = Vec::new();
        self.for_each_token(text, |t| out.push(t.to_string()));
        out
    }

    /// Calls `emit` with every term of `text`, in order.
    pub fn for_each_token(&self, text: &str, mut emit: impl FnMut(&str)) {
        self.for_each_word(text, |word| {
            if let Some(term) = self.normalize_word(word) {
                emit(&term);
            }
        });
    }

    /// Stop-word check and stemming of one (lowercased) word; `None` for a stop word.
    pub(crate) fn normalize_word<'w>(&self, word: &'w str) -> Option<Cow<'w, str>> {
        if self.stopwords.contains(word) {
            return None;
        }
        match &self.stemmer {
            Some(stemmer) if !word.chars().any(is_cjk) => Some(stemmer.stem(word)),
            _ => Some(Cow::Borrowed(word)),
        }
    }

    /// Calls `emit` with every word (before stop words and stemming): split pieces of the
    /// lowercased text, CJK runs already cut into n-grams, short words dropped.
    pub(crate) fn for_each_word(&self, text: &str, mut emit: impl FnMut(&str)) {
        let lowered: Cow<str> = if self.config.lowercase {
            Cow::Owned(text.to_lowercase())
        } else {
            Cow::Borrowed(text)
        };
        let min_chars = self.config.min_token_chars;
        let cjk = self.config.cjk;
        let mut handle = |piece: Piece| match piece {
            Piece::Word(word) => {
                if word.chars().nth(min_chars - 1).is_some() {
                    emit(word);
                }
            }
            Piece::Cjk(run) => cjk_ngrams(run, cjk, &mut emit),
        };
        match self.config.splitter {
            Splitter::WordChars => split_word_chars(&lowered, &mut handle),
            Splitter::Uax29 => split_uax29(&lowered, &mut handle),
        }
    }
}

/// Characters of scripts written without spaces between words (plus Hangul, which Lucene's
/// CJK analyzer treats the same way).
pub fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x1100..=0x11FF       // Hangul Jamo
        | 0x2E80..=0x2FDF     // CJK radicals, Kangxi radicals
        | 0x3005..=0x3007     // 々 〆 〇
        | 0x3021..=0x3029     // Hangzhou numerals
        | 0x3040..=0x309F     // Hiragana
        | 0x30A0..=0x30FF     // Katakana
        | 0x3130..=0x318F     // Hangul compatibility Jamo
        | 0x31F0..=0x31FF     // Katakana phonetic extensions
        | 0x3400..=0x4DBF     // CJK extension A
        | 0x4E00..=0x9FFF     // CJK unified ideographs
        | 0xA960..=0xA97F     // Hangul Jamo extended A
        | 0xAC00..=0xD7AF     // Hangul syllables
        | 0xD7B0..=0xD7FF     // Hangul Jamo extended B
        | 0xF900..=0xFAFF     // CJK compatibility ideographs
        | 0xFF66..=0xFF9F     // halfwidth Katakana
        | 0xFFA0..=0xFFDC     // halfwidth Hangul
        | 0x20000..=0x3FFFF   // CJK extensions B and later
    )
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Splits `run` (word characters only) into alternating non-CJK and CJK pieces.
fn split_by_script<'a>(run: &'a str, handle: &mut impl FnMut(Piece<'a>)) {
    let mut start = 0;
    let mut in_cjk = None;
    for (i, c) in run.char_indices() {
        let cjk = is_cjk(c);
        match in_cjk {
            Some(prev) if prev != cjk => {
                handle(piece(&run[start..i], prev));
                start = i;
            }
            _ => {}
        }
        in_cjk = Some(cjk);
    }
    if let Some(cjk) = in_cjk {
        handle(piece(&run[start..], cjk));
    }
}

fn piece(text: &str, cjk: bool) -> Piece<'_> {
    if cjk {
        Piece::Cjk(text)
    } else {
        Piece::Word(text)
    }
}

fn split_word_chars<'a>(text: &'a str, handle: &mut impl FnMut(Piece<'a>)) {
    let mut start = None;
    for (i, c) in text.char_indices() {
        match (is_word_char(c), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                split_by_script(&text[s..i], handle);
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        split_by_script(&text[s..], handle);
    }
}

fn split_uax29<'a>(text: &'a str, handle: &mut impl FnMut(Piece<'a>)) {
    // UAX #29 makes every ideograph its own word; glue adjacent CJK words back into runs so
    // that bigrams can span them.
    let mut cjk_run: Option<(usize, usize)> = None;
    for (start, word) in text.unicode_word_indices() {
        let end = start + word.len();
        if word.chars().all(is_cjk) {
            cjk_run = match cjk_run {
                Some((s, e)) if e == start => Some((s, end)),
                Some((s, e)) => {
                    handle(Piece::Cjk(&text[s..e]));
                    Some((start, end))
                }
                None => Some((start, end)),
            };
            continue;
        }
        if let Some((s, e)) = cjk_run.take() {
            handle(Piece::Cjk(&text[s..e]));
        }
        split_by_script(word, handle);
    }
    if let Some((s, e)) = cjk_run {
        handle(Piece::Cjk(&text[s..e]));
    }
}

fn cjk_ngrams(run: &str, mode: CjkMode, emit: &mut impl FnMut(&str)) {
    let bounds: Vec<usize> = run
        .char_indices()
        .map(|(i, _)| i)
        .chain(std::iter::once(run.len()))
        .collect();
    let chars = bounds.len() - 1;
    let unigrams = matches!(mode, CjkMode::Unigrams | CjkMode::UnigramsAndBigrams) || chars == 1;
    let bigrams = matches!(mode, CjkMode::Bigrams | CjkMode::UnigramsAndBigrams);
    for i in 0..chars {
        if unigrams {
            emit(&run[bounds[i]..bounds[i + 1]]);
        }
        if bigrams && i + 2 <= chars {
            emit(&run[bounds[i]..bounds[i + 2]]);
        }
    }
}

/// An [`Analyzer`] with a memo of word → term (or stop word), so each distinct word is
/// stemmed once. One per thread.
pub struct CachedAnalyzer<'a> {
    analyzer: &'a Analyzer,
    memo: HashMap<String, Option<Box<str>>>,
}

impl<'a> CachedAnalyzer<'a> {
    pub fn new(analyzer: &'a Analyzer) -> Self {
        Self {
            analyzer,
            memo: HashMap::new(),
        }
    }

    /// Like [`Analyzer::for_each_token`], with memoised stemming.
    pub fn for_each_token(&mut self, text: &str, mut emit: impl FnMut(&str)) {
        let analyzer = self.analyzer;
        let memo = &mut self.memo;
        analyzer.for_each_word(text, |word| {
            if let Some(term) = memo.get(word) {
                if let Some(term) = term {
                    emit(term);
                }
                return;
            }
            let term = analyzer.normalize_word(word).map(|t| Box::from(t.as_ref()));
            if let Some(term) = &term {
                emit(term);
            }
            memo.insert(word.to_string(), term);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn analyze(config: AnalyzerConfig, text: &str) -> Vec<String> {
        Analyzer::new(config).unwrap().tokens(text)
    }

    #[test]
    fn default_matches_bm25s_rules() {
        // Lowercased, stop words gone, single characters gone, Snowball stems.
        let tokens = analyze(
            AnalyzerConfig::default(),
            "The Running dogs ran to a 5 km Marathon; it's e.g. COVID_19 studies.",
        );
        assert_eq!(
            tokens,
            ["run", "dog", "ran", "km", "marathon", "covid_19", "studi"]
        );
    }

    #[test]
    fn unicode_lowercasing_and_letters() {
        let config = AnalyzerConfig {
            stemmer: StemmerLanguage::None,
            ..Default::default()
        };
        assert_eq!(
            analyze(config, "ÉCOLE Straße ΣΟΦΊΑ"),
            ["école", "straße", "σοφία"]
        );
    }

    #[test]
    fn cjk_runs_become_bigrams_not_nothing() {
        let tokens = analyze(AnalyzerConfig::default(), "東京大学で研究する");
        assert_eq!(
            tokens,
            ["東京", "京大", "大学", "学で", "で研", "研究", "究す", "する"]
        );
        // A lone ideograph survives as a unigram despite min_token_chars = 2.
        assert_eq!(analyze(AnalyzerConfig::default(), "猫 cat"), ["猫", "cat"]);
        // Hangul and Katakana too; mixed-script runs are split by script.
        assert_eq!(
            analyze(AnalyzerConfig::default(), "한국어 GPUコンピュータ"),
            ["한국", "국어", "gpu", "コン", "ンピ", "ピュ", "ュー", "ータ"]
        );
    }

    #[test]
    fn cjk_unigram_modes() {
        let unigrams = AnalyzerConfig {
            cjk: CjkMode::Unigrams,
            ..Default::default()
        };
        assert_eq!(analyze(unigrams, "中文"), ["中", "文"]);
        let both = AnalyzerConfig {
            cjk: CjkMode::UnigramsAndBigrams,
            ..Default::default()
        };
        assert_eq!(analyze(both, "中文字"), ["中", "中文", "文", "文字", "字"]);
    }

    #[test]
    fn uax29_keeps_contractions_and_glues_ideographs() {
        let config = AnalyzerConfig {
            splitter: Splitter::Uax29,
            stemmer: StemmerLanguage::None,
            stopwords: StopWords::Builtin(StopWordList::None),
            ..Default::default()
        };
        assert_eq!(
            analyze(config, "Don't stop 3.14 東京大学"),
            ["don't", "stop", "3.14", "東京", "京大", "大学"]
        );
    }

    #[test]
    fn custom_stopwords_and_other_languages() {
        let config = AnalyzerConfig {
            stopwords: StopWords::Custom(vec!["Die".into(), "und".into()]),
            stemmer: StemmerLanguage::German,
            ..Default::default()
        };
        assert_eq!(analyze(config, "Die Katzen und Hunde"), ["katz", "hund"]);
    }

    #[test]
    fn cached_analyzer_agrees_with_plain() {
        let analyzer = Analyzer::new(AnalyzerConfig::default()).unwrap();
        let mut cached = CachedAnalyzer::new(&analyzer);
        let text = "studies of studying students study the studies 研究";
        for _ in 0..2 {
            let mut out = Vec::new();
            cached.for_each_token(text, |t| out.push(t.to_string()));
            assert_eq!(out, analyzer.tokens(text));
        }
    }

    #[test]
    fn config_from_toml_names_and_lists() {
        let config: AnalyzerConfig =
            serde_json::from_str(r#"{"stopwords": ["x"], "stemmer": "none", "cjk": "unigrams"}"#)
                .unwrap();
        assert_eq!(config.stopwords, StopWords::Custom(vec!["x".into()]));
        let config: AnalyzerConfig = serde_json::from_str(r#"{"stopwords": "none"}"#).unwrap();
        assert_eq!(config.stopwords, StopWords::Builtin(StopWordList::None));
        assert!(
            serde_json::from_str::<AnalyzerConfig>(r#"{"lowercase": true, "bogus": 1}"#).is_err()
        );
    }
}
