//! Text outputs: aligned plain-text tables, JSON objects keyed by metric name (in the order the
//! metrics were asked for), and a per-query TSV.

use std::io::{self, Write};
use std::path::Path;

use serde::ser::{Serialize, SerializeMap, Serializer};

use crate::compare::{Comparison, SystemScore};
use crate::error::{EvalError, Result};
use crate::evaluate::Evaluation;

impl Evaluation {
    /// An aligned two-column table (`metric  mean`, 4 decimals) and a line saying how many
    /// queries were averaged and how many had no results.
    pub fn to_table(&self) -> String {
        let rows: Vec<Vec<String>> = self
            .means()
            .map(|(metric, mean)| vec![metric.to_string(), format!("{mean:.4}")])
            .collect();
        let mut out = render_table(&["metric", "mean"], &rows, &[false, true]);
        out.push_str(&self.coverage_note());
        out.push('\n');
        out
    }

    fn coverage_note(&self) -> String {
        let mut note = format!("{} queries (all judged queries)", self.num_queries());
        if self.queries_without_results() > 0 {
            note += &format!(
                "; {} without results count 0",
                self.queries_without_results()
            );
        }
        if self.ignored_run_queries() > 0 {
            note += &format!(
                "; {} run queries without judgments ignored",
                self.ignored_run_queries()
            );
        }
        note
    }

    /// The means as a serialisable map `{"ndcg@10": 0.41, "map": 0.33, ...}` that keeps the
    /// metrics' order (a `serde_json::Value` would sort the keys).
    pub fn means_map(&self) -> MeansMap<'_> {
        MeansMap(self)
    }

    /// The means as a pretty JSON object `{"ndcg@10": 0.41, ...}`, keys in the order asked for.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(&self.means_map())
            .expect("metric names and finite numbers serialise")
    }

    /// Writes `query_id<TAB>metric<TAB>value`, one line per query and metric (queries in sorted
    /// order, metrics in the order asked for), after a header line with those three names.
    /// Values are printed in full (shortest representation that reads back exactly).
    pub fn write_per_query_tsv<W: Write>(&self, mut out: W) -> io::Result<()> {
        writeln!(out, "query_id\tmetric\tvalue")?;
        for (q, query_id) in self.query_ids().iter().enumerate() {
            for metric in self.metrics() {
                let value = self.per_query(metric).expect("evaluated metric")[q];
                writeln!(out, "{query_id}\t{metric}\t{value}")?;
            }
        }
        out.flush()
    }

    /// [`Evaluation::write_per_query_tsv`] into a file at `path`, atomically.
    pub fn write_per_query_tsv_file(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let mut file =
            rankforge_data::AtomicFile::create(path).map_err(|e| EvalError::io(path, e))?;
        self.write_per_query_tsv(&mut file)
            .and_then(|()| file.commit())
            .map_err(|e| EvalError::io(path, e))
    }
}

/// Serialises an [`Evaluation`]'s means as an ordered JSON object; see
/// [`Evaluation::means_map`].
pub struct MeansMap<'a>(&'a Evaluation);

impl Serialize for MeansMap<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.metrics().len()))?;
        for (metric, mean) in self.0.means() {
            map.serialize_entry(&metric.to_string(), &mean)?;
        }
        map.end()
    }
}

impl Comparison {
    /// An aligned table: one line per (metric, system) with the mean, the delta against the
    /// baseline and both p-values, then how often each system's top document differs from the
    /// baseline's.
    pub fn to_table(&self) -> String {
        let header = [
            "metric",
            "system",
            "mean",
            "delta",
            "p (t-test)",
            "p (randomised)",
        ];
        let mut rows = Vec::new();
        for row in &self.rows {
            for (i, score) in row.systems.iter().enumerate() {
                let is_baseline = i == 0;
                rows.push(vec![
                    if is_baseline {
                        row.metric.to_string()
                    } else {
                        String::new()
                    },
                    score.system.clone(),
                    format!("{:.4}", score.mean),
                    if is_baseline {
                        "-".into()
                    } else {
                        format!("{:+.4}", score.delta)
                    },
                    format_p(score.t_test_p),
                    format_p(score.randomization_p),
                ]);
            }
        }
        let mut out = render_table(&header, &rows, &[false, false, true, true, true, true]);
        let baseline = &self.systems[0];
        let queries = self.evaluations[0].num_queries();
        out += &format!(
            "{queries} queries; deltas and paired two-sided p-values against the baseline `{baseline}`"
        );
        if self.options.permutations > 0 {
            out += &format!(
                " (randomised: {} sign-flip permutations, seed {}; exact when fewer assignments exist)",
                self.options.permutations, self.options.seed
            );
        }
        out.push('\n');
        for change in self.top_one_changes.iter().skip(1) {
            out += &format!(
                "top-1 document differs from `{baseline}`: {} on {}/{} queries ({:.1}%)\n",
                change.system,
                change.queries_differing,
                change.num_queries,
                100.0 * change.fraction()
            );
        }
        out
    }

    /// Pretty JSON: `{"baseline": .., "systems": [..], "metrics": {"ndcg@10": {"bm25": {"mean",
    /// "delta", "t_test_p", "randomization_p"}, ..}, ..}, "top1_differs": {"system": {"queries",
    /// "of", "fraction"}}, "permutations": .., "seed": ..}`. Keys keep the order asked for;
    /// p-values not computed are `null`.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(&ComparisonJson(self))
            .expect("names and finite numbers serialise")
    }
}

struct ComparisonJson<'a>(&'a Comparison);
struct MetricRowJson<'a>(&'a [SystemScore]);
struct ScoreJson<'a>(&'a SystemScore);
struct TopOneJson<'a>(&'a Comparison);

impl Serialize for ComparisonJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let c = self.0;
        let mut map = serializer.serialize_map(Some(6))?;
        map.serialize_entry("baseline", &c.systems[0])?;
        map.serialize_entry("systems", &c.systems)?;
        map.serialize_entry("num_queries", &c.evaluations[0].num_queries())?;
        let metrics: Vec<(String, MetricRowJson)> = c
            .rows
            .iter()
            .map(|row| (row.metric.to_string(), MetricRowJson(&row.systems)))
            .collect();
        map.serialize_entry("metrics", &OrderedPairs(&metrics))?;
        map.serialize_entry("top1_differs", &TopOneJson(c))?;
        map.serialize_entry("permutations", &c.options.permutations)?;
        map.serialize_entry("seed", &c.options.seed)?;
        map.end()
    }
}

impl Serialize for MetricRowJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for score in self.0 {
            map.serialize_entry(&score.system, &ScoreJson(score))?;
        }
        map.end()
    }
}

impl Serialize for ScoreJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(4))?;
        map.serialize_entry("mean", &self.0.mean)?;
        map.serialize_entry("delta", &self.0.delta)?;
        map.serialize_entry("t_test_p", &self.0.t_test_p)?;
        map.serialize_entry("randomization_p", &self.0.randomization_p)?;
        map.end()
    }
}

impl Serialize for TopOneJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let changes = &self.0.top_one_changes;
        let mut map = serializer.serialize_map(Some(changes.len()))?;
        for change in changes {
            let entry = serde_json::json!({
                "queries": change.queries_differing,
                "of": change.num_queries,
                "fraction": change.fraction(),
            });
            map.serialize_entry(&change.system, &entry)?;
        }
        map.end()
    }
}

/// A list of (key, value) serialised as a map in list order.
struct OrderedPairs<'a, V>(&'a [(String, V)]);

impl<V: Serialize> Serialize for OrderedPairs<'_, V> {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (key, value) in self.0 {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

fn format_p(p: Option<f64>) -> String {
    match p {
        None => "-".to_string(),
        Some(p) if p < 1e-4 => "<0.0001".to_string(),
        Some(p) => format!("{p:.4}"),
    }
}

/// Columns padded to their widest cell (counted in characters), separated by two spaces;
/// `right_aligned[i]` right-aligns column i (numbers).
fn render_table(header: &[&str], rows: &[Vec<String>], right_aligned: &[bool]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut push_line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut line = String::new();
        for (i, cell) in cells.enumerate() {
            if i > 0 {
                line.push_str("  ");
            }
            let pad = " ".repeat(widths[i] - cell.chars().count());
            if right_aligned[i] {
                line.push_str(&pad);
                line.push_str(cell);
            } else {
                line.push_str(cell);
                line.push_str(&pad);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    };
    push_line(&mut header.iter().copied());
    for row in rows {
        push_line(&mut row.iter().map(String::as_str));
    }
    out
}

#[cfg(test)]
mod tests {
    use rankforge_data::{Qrels, Run};

    use crate::compare::{compare, CompareOptions};
    use crate::evaluate::evaluate;
    use crate::metric::parse_metrics;

    fn data() -> (Qrels, Run, Run) {
        let mut qrels = Qrels::new();
        qrels.insert("q1", "a", 2);
        qrels.insert("q1", "b", 1);
        qrels.insert("q2", "c", 1);
        qrels.insert("q3", "d", 1);
        let mut base = Run::new();
        base.push("q1", "b", 2.0);
        base.push("q1", "a", 1.0);
        base.push("q2", "x", 1.0);
        base.push("q2", "c", 0.5);
        base.push("q7", "a", 1.0);
        let mut other = Run::new();
        other.push("q1", "a", 2.0);
        other.push("q1", "b", 1.0);
        other.push("q2", "c", 1.0);
        (qrels, base, other)
    }

    #[test]
    fn evaluation_table_json_and_tsv() {
        let (qrels, base, _) = data();
        let metrics = parse_metrics("ndcg@10,map,p@1").unwrap();
        let eval = evaluate(&qrels, &base, &metrics).unwrap();
        let table = eval.to_table();
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines[0], "metric     mean");
        assert_eq!(lines[2], "map      0.5000");
        assert_eq!(lines[3], "p@1      0.3333");
        assert_eq!(
            lines[4],
            "3 queries (all judged queries); 1 without results count 0; 1 run queries without judgments ignored"
        );

        let json = eval.to_json();
        let keys: Vec<&str> = json
            .lines()
            .filter_map(|l| l.trim().strip_prefix('"'))
            .map(|l| l.split('"').next().unwrap())
            .collect();
        assert_eq!(keys, ["ndcg@10", "map", "p@1"]);
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(value["p@1"], serde_json::json!(1.0 / 3.0));

        let mut tsv = Vec::new();
        eval.write_per_query_tsv(&mut tsv).unwrap();
        let tsv = String::from_utf8(tsv).unwrap();
        let lines: Vec<&str> = tsv.lines().collect();
        assert_eq!(lines.len(), 1 + 3 * 3);
        assert_eq!(lines[0], "query_id\tmetric\tvalue");
        assert_eq!(lines[2], "q1\tmap\t1");
        assert_eq!(lines[9], "q3\tp@1\t0");
    }

    #[test]
    fn comparison_table_and_json() {
        let (qrels, base, other) = data();
        let metrics = parse_metrics("mrr,p@1").unwrap();
        let runs = [("bm25", base), ("ce", other)];
        let comparison = compare(&qrels, &runs, &metrics, &CompareOptions::default()).unwrap();
        let table = comparison.to_table();
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(
            lines[0],
            "metric  system    mean    delta  p (t-test)  p (randomised)"
        );
        assert_eq!(
            lines[1],
            "mrr     bm25    0.5000        -           -               -"
        );
        assert_eq!(
            lines[2],
            "        ce      0.6667  +0.1667      0.4226          1.0000"
        );
        assert!(lines[5].starts_with("3 queries; deltas"), "{table}");
        assert_eq!(
            lines[6],
            "top-1 document differs from `bm25`: ce on 2/3 queries (66.7%)"
        );

        let value: serde_json::Value = serde_json::from_str(&comparison.to_json()).unwrap();
        assert_eq!(value["baseline"], "bm25");
        assert_eq!(
            value["metrics"]["p@1"]["ce"]["delta"],
            serde_json::json!(1.0 / 3.0)
        );
        assert_eq!(
            value["metrics"]["p@1"]["bm25"]["t_test_p"],
            serde_json::Value::Null
        );
        assert_eq!(value["top1_differs"]["ce"]["queries"], 2);
    }
}
