//! The optional score cache: raw logits keyed by a 128-bit hash of (model, scoring settings,
//! query, document), least recently used out first. Raw logits are stored so `raw_scores`
//! and sigmoid requests share entries.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::num::NonZeroUsize;
use std::sync::Mutex;

use lru::LruCache;

/// Hash of one (model, settings, query, document).
pub type CacheKey = u128;

/// What, besides query and document, decides a score: the model and how pairs are tokenized.
#[derive(Debug, Clone, Hash, PartialEq, Eq)]
pub struct ScoreContext {
    pub model: String,
    pub max_length: usize,
    /// `{:?}` of the long-document mode (window and stride included).
    pub long_doc: String,
    /// Cohere's `max_tokens_per_doc`, when it cuts documents.
    pub max_tokens_per_doc: Option<usize>,
}

impl ScoreContext {
    /// The key of `(query, document)` under this context: two independent 64-bit SipHashes.
    pub fn key(&self, query: &str, document: &str) -> CacheKey {
        let half = |salt: u8| {
            let mut hasher = DefaultHasher::new();
            salt.hash(&mut hasher);
            self.hash(&mut hasher);
            query.hash(&mut hasher);
            document.hash(&mut hasher);
            hasher.finish()
        };
        (u128::from(half(1)) << 64) | u128::from(half(2))
    }
}

/// A thread-safe LRU map from [`CacheKey`] to a raw logit.
#[derive(Debug)]
pub struct ScoreCache {
    entries: Mutex<LruCache<CacheKey, f32>>,
}

impl ScoreCache {
    /// A cache of `capacity` scores; `None` for 0 (caching off).
    pub fn new(capacity: usize) -> Option<Self> {
        NonZeroUsize::new(capacity).map(|capacity| Self {
            entries: Mutex::new(LruCache::new(capacity)),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LruCache<CacheKey, f32>> {
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The cached logit of each key, in order (`None` = miss).
    pub fn get_many(&self, keys: &[CacheKey]) -> Vec<Option<f32>> {
        let mut entries = self.lock();
        keys.iter().map(|key| entries.get(key).copied()).collect()
    }

    pub fn insert_many(&self, items: impl IntoIterator<Item = (CacheKey, f32)>) {
        let mut entries = self.lock();
        for (key, logit) in items {
            entries.put(key, logit);
        }
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn capacity(&self) -> usize {
        self.lock().cap().get()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context() -> ScoreContext {
        ScoreContext {
            model: "m".into(),
            max_length: 512,
            long_doc: "Truncate".into(),
            max_tokens_per_doc: None,
        }
    }

    #[test]
    fn keys_separate_query_document_and_settings() {
        let base = context();
        let key = base.key("q", "d");
        assert_eq!(key, base.key("q", "d"));
        assert_ne!(key, base.key("qd", ""));
        assert_ne!(key, base.key("d", "q"));
        let other_model = ScoreContext {
            model: "n".into(),
            ..context()
        };
        assert_ne!(key, other_model.key("q", "d"));
        let cut = ScoreContext {
            max_tokens_per_doc: Some(10),
            ..context()
        };
        assert_ne!(key, cut.key("q", "d"));
    }

    #[test]
    fn least_recently_used_goes_first() {
        let cache = ScoreCache::new(2).unwrap();
        cache.insert_many([(1, 0.1), (2, 0.2)]);
        assert_eq!(cache.get_many(&[1]), [Some(0.1)]);
        cache.insert_many([(3, 0.3)]);
        assert_eq!(cache.get_many(&[1, 2, 3]), [Some(0.1), None, Some(0.3)]);
        assert!(ScoreCache::new(0).is_none());
    }
}
