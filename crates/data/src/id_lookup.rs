//! [`IdLookup`]: what qrels are checked against (a corpus, a query set, a set of strings).

/// Anything that can say whether it knows an id (a corpus, a query set, a set of strings); used
/// to check qrels against them.
pub trait IdLookup {
    fn contains_id(&self, id: &str) -> bool;
}

impl IdLookup for std::collections::HashSet<String> {
    fn contains_id(&self, id: &str) -> bool {
        self.contains(id)
    }
}
