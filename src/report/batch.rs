//! A scored batch as the report sees it: articles, their sentences with
//! label, probabilities and evidence, read from a scoring run or back from
//! a predictions file (CSV or JSONL); and the stance measure that orders
//! the articles.

use std::path::Path;

use crate::error::{Error, Result};
use crate::io::{unprotect_cell, Input};
use crate::labels::column_indices;
use crate::score::{DocSummary, Document, PredictionRows, Scored};

/// A sentence whose top probability is below this is marked low-confidence
/// in the report: the model gave the label less than even odds.
pub const LOW_CONFIDENCE: f64 = 0.5;

/// One scored sentence.
#[derive(Debug, Clone, PartialEq)]
pub struct Sentence {
    /// 1-based position in its article (the predictions file's `sentence_id`).
    pub sentence_id: u64,
    /// The sentence as written.
    pub text: String,
    /// Index of the predicted class in [`Batch::classes`].
    pub label: usize,
    /// Probability per class, in class order.
    pub probabilities: Vec<f64>,
    /// Evidence terms as the predictions file writes them.
    pub evidence: String,
}

impl Sentence {
    /// The probability of the predicted label.
    pub fn confidence(&self) -> f64 {
        self.probabilities.get(self.label).copied().unwrap_or(0.0)
    }

    /// Whether [`Sentence::confidence`] is below [`LOW_CONFIDENCE`].
    pub fn is_low_confidence(&self) -> bool {
        self.confidence() < LOW_CONFIDENCE
    }
}

/// One article of the batch.
#[derive(Debug, Clone, PartialEq)]
pub struct Article {
    /// The article's id.
    pub doc_id: String,
    /// Where it came from (the input file, or a web page's canonical URL),
    /// when known.
    pub source: Option<String>,
    /// Its title, when the input named one.
    pub title: Option<String>,
    /// Its date as the input gave it, when known (see [`super::Day::parse`]).
    pub date: Option<String>,
    /// Its sentences in order.
    pub sentences: Vec<Sentence>,
}

impl Article {
    /// The article as scored: its source is the document's, else the input
    /// it came from.
    pub fn from_scored(input: &Input, doc: &Document, scored: &[Scored]) -> Article {
        Article::from_document(Some(input.display()), doc, scored)
    }

    /// The article as scored; `source` when the document names none.
    pub fn from_document(source: Option<String>, doc: &Document, scored: &[Scored]) -> Article {
        Article {
            doc_id: doc.doc_id.clone(),
            source: doc.source.clone().or(source),
            title: doc.title.clone(),
            date: doc.date.clone(),
            sentences: scored
                .iter()
                .map(|s| Sentence {
                    sentence_id: doc.sentence_id(s.index),
                    text: doc.spans[s.index].text(&doc.text).to_string(),
                    label: s.label,
                    probabilities: s.probabilities.clone(),
                    evidence: s.evidence.clone(),
                })
                .collect(),
        }
    }

    /// Sentences per predicted class, for `n_classes` classes.
    pub fn counts(&self, n_classes: usize) -> Vec<usize> {
        let mut counts = vec![0; n_classes];
        for s in &self.sentences {
            if let Some(c) = counts.get_mut(s.label) {
                *c += 1;
            }
        }
        counts
    }

    /// The per-article totals the summary CSV and the article chart use.
    pub fn summary(&self, n_classes: usize) -> DocSummary {
        let mut probability_sums = vec![0.0; n_classes];
        for s in &self.sentences {
            for (sum, p) in probability_sums.iter_mut().zip(&s.probabilities) {
                *sum += p;
            }
        }
        DocSummary {
            doc_id: self.doc_id.clone(),
            source: self.source.clone(),
            sentences: self.sentences.len(),
            counts: self.counts(n_classes),
            probability_sums,
        }
    }
}

/// The articles of one scoring run, in input order, and the classes their
/// labels index.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    /// Class names in model order.
    pub classes: Vec<String>,
    /// Articles in input order.
    pub articles: Vec<Article>,
}

impl Batch {
    /// The batch of a scoring run's articles (see [`Article::from_scored`]),
    /// in input order. The parts of an article file read in parts come as
    /// articles of their own; each part after the first (same `doc_id`,
    /// sentence ids going on from the article before) joins that article.
    pub fn scored(classes: Vec<String>, articles: impl IntoIterator<Item = Article>) -> Batch {
        let mut batch = Batch {
            classes,
            articles: Vec::new(),
        };
        for article in articles {
            let continues = |last: &Article| {
                let next_id = last.sentences.last().map_or(0, |s| s.sentence_id) + 1;
                last.doc_id == article.doc_id
                    && article
                        .sentences
                        .first()
                        .is_some_and(|s| s.sentence_id > 1 && s.sentence_id == next_id)
            };
            match batch.articles.last_mut() {
                Some(last) if continues(last) => last.sentences.extend(article.sentences),
                _ => batch.articles.push(article),
            }
        }
        batch
    }

    /// Reads a predictions file back: JSON lines when its name ends in
    /// `.jsonl` or `.json`, an xlsx workbook when it ends in `.xlsx`, CSV
    /// otherwise. See [`Batch::read_csv`].
    pub fn read(path: &Path) -> Result<Batch> {
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase());
        match ext.as_deref() {
            Some("jsonl") | Some("json") => Batch::read_jsonl(path),
            _ => Batch::read_csv(path),
        }
    }

    /// Reads a predictions CSV (or xlsx workbook, see
    /// [`PredictionRows`]) as `stance score` writes it: the columns
    /// `doc_id`, `sentence_id`, `text`, `label`, one `p_<class>` per class
    /// (their order is the class order), and optionally `evidence`, `date`,
    /// `source` and `title`. Consecutive rows with the same `doc_id` form one
    /// article, dated by its first non-empty `date`.
    pub fn read_csv(path: &Path) -> Result<Batch> {
        let mut rows = PredictionRows::open(path)?;
        let header = rows.header()?;
        let cols = column_indices(path, &header, &["doc_id", "sentence_id", "text", "label"])?;
        let optional = |name: &str| column_indices(path, &header, &[name]).ok().map(|v| v[0]);
        let evidence = optional("evidence");
        let meta = [optional("date"), optional("source"), optional("title")];
        let p_cols: Vec<(usize, String)> = header
            .iter()
            .enumerate()
            .filter_map(|(i, h)| h.trim().strip_prefix("p_").map(|c| (i, c.to_string())))
            .collect();
        if p_cols.is_empty() {
            return Err(Error::MissingColumn {
                path: path.to_path_buf(),
                column: "p_<class>".into(),
                expected: "doc_id,sentence_id,text,label and one p_<class> per class".into(),
            });
        }
        let classes: Vec<String> = p_cols.iter().map(|(_, c)| c.clone()).collect();
        let mut batch = Batch {
            classes,
            articles: Vec::new(),
        };
        rows.for_each(|record, line| {
            let cell = |i: usize| record.get(i).unwrap_or("");
            let bad = |i: usize, problem| Error::BadCell {
                path: path.to_path_buf(),
                line,
                column: header.get(i).unwrap_or("").to_string(),
                value: cell(i).to_string(),
                problem,
            };
            let sentence_id = cell(cols[1])
                .trim()
                .parse()
                .map_err(|_| bad(cols[1], "not a whole number"))?;
            let label = batch
                .class_index(cell(cols[3]).trim())
                .ok_or_else(|| bad(cols[3], "not one of the p_<class> columns"))?;
            let probabilities = p_cols
                .iter()
                .map(|&(i, _)| {
                    cell(i)
                        .trim()
                        .parse::<f64>()
                        .map_err(|_| bad(i, "not a number"))
                })
                .collect::<Result<Vec<f64>>>()?;
            let sentence = Sentence {
                sentence_id,
                text: unprotect_cell(cell(cols[2])).to_string(),
                label,
                probabilities,
                evidence: evidence.map_or("", cell).to_string(),
            };
            let text_of = |c: Option<usize>| {
                c.map(|c| unprotect_cell(cell(c).trim()).to_string())
                    .filter(|v| !v.is_empty())
            };
            batch.push(unprotect_cell(cell(cols[0])), meta.map(text_of), sentence);
            Ok(())
        })?;
        batch.finish(path)
    }

    /// Reads predictions written with `--format jsonl`: one object per
    /// sentence with the CSV's fields (the `p_<class>` keys of the first
    /// line give the classes, in their order), and optionally `date`,
    /// `source` and `title`.
    pub fn read_jsonl(path: &Path) -> Result<Batch> {
        use std::io::BufRead;
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        let mut batch = Batch {
            classes: Vec::new(),
            articles: Vec::new(),
        };
        for (n, line) in std::io::BufReader::new(file).lines().enumerate() {
            let line = line.map_err(|e| Error::io(path, e))?;
            let line_no = n as u64 + 1;
            if line.trim().is_empty() {
                continue;
            }
            let record = |e: serde_json::Error| Error::Record {
                path: path.to_path_buf(),
                line: line_no,
                message: e.to_string(),
            };
            if batch.classes.is_empty() {
                let keys: OrderedKeys = serde_json::from_str(&line).map_err(record)?;
                batch.classes = keys
                    .0
                    .iter()
                    .filter_map(|k| k.strip_prefix("p_").map(String::from))
                    .collect();
            }
            let value: serde_json::Value = serde_json::from_str(&line).map_err(record)?;
            let field = |name: &str| value.get(name);
            let bad = |column: &str, problem| Error::BadCell {
                path: path.to_path_buf(),
                line: line_no,
                column: column.to_string(),
                value: field(column).map_or("(absent)".into(), |v| v.to_string()),
                problem,
            };
            let string = |name: &str| field(name).and_then(|v| v.as_str());
            let doc_id = string("doc_id").ok_or_else(|| bad("doc_id", "not a string"))?;
            let label = string("label")
                .and_then(|l| batch.class_index(l))
                .ok_or_else(|| bad("label", "not one of the p_<class> fields"))?;
            let probabilities = batch
                .classes
                .iter()
                .map(|c| {
                    let key = format!("p_{c}");
                    field(&key)
                        .and_then(|v| v.as_f64())
                        .ok_or_else(|| bad(&key, "not a number"))
                })
                .collect::<Result<Vec<f64>>>()?;
            let sentence = Sentence {
                sentence_id: field("sentence_id")
                    .and_then(|v| v.as_u64())
                    .ok_or_else(|| bad("sentence_id", "not a whole number"))?,
                text: string("text")
                    .ok_or_else(|| bad("text", "not a string"))?
                    .to_string(),
                label,
                probabilities,
                evidence: string("evidence").unwrap_or("").to_string(),
            };
            let optional = |name: &str| {
                string(name)
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
            };
            let meta = ["date", "source", "title"].map(optional);
            batch.push(doc_id, meta, sentence);
        }
        batch.finish(path)
    }

    fn class_index(&self, name: &str) -> Option<usize> {
        self.classes.iter().position(|c| c == name)
    }

    /// Adds a sentence to the last article when it has the same id, else
    /// starts a new article. `meta` is the row's date, source and title; an
    /// article keeps the first non-empty one of each.
    fn push(&mut self, doc_id: &str, meta: [Option<String>; 3], sentence: Sentence) {
        let [date, source, title] = meta;
        match self.articles.last_mut() {
            Some(a) if a.doc_id == doc_id => {
                a.date = a.date.take().or(date);
                a.source = a.source.take().or(source);
                a.title = a.title.take().or(title);
                a.sentences.push(sentence);
            }
            _ => self.articles.push(Article {
                doc_id: doc_id.to_string(),
                source,
                title,
                date,
                sentences: vec![sentence],
            }),
        }
    }

    fn finish(self, path: &Path) -> Result<Batch> {
        if self.articles.is_empty() {
            return Err(Error::EmptyPredictions {
                path: path.to_path_buf(),
            });
        }
        Ok(self)
    }

    /// Sentences per predicted class over the whole batch.
    pub fn totals(&self) -> Vec<usize> {
        let mut totals = vec![0; self.classes.len()];
        for a in &self.articles {
            for (t, c) in totals.iter_mut().zip(a.counts(self.classes.len())) {
                *t += c;
            }
        }
        totals
    }

    /// Sentences in the batch.
    pub fn sentences(&self) -> usize {
        self.articles.iter().map(|a| a.sentences.len()).sum()
    }

    /// One [`DocSummary`] per article, in input order.
    pub fn summaries(&self) -> Vec<DocSummary> {
        self.articles
            .iter()
            .map(|a| a.summary(self.classes.len()))
            .collect()
    }
}

/// The keys of a JSON object in the order written (serde_json's `Map`
/// sorts them).
struct OrderedKeys(Vec<String>);

impl<'de> serde::Deserialize<'de> for OrderedKeys {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct Keys;
        impl<'de> serde::de::Visitor<'de> for Keys {
            type Value = OrderedKeys;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<OrderedKeys, A::Error> {
                let mut keys = Vec::new();
                while let Some((k, _)) = map.next_entry::<String, serde::de::IgnoredAny>()? {
                    keys.push(k);
                }
                Ok(OrderedKeys(keys))
            }
        }
        d.deserialize_map(Keys)
    }
}

/// The stance measure that orders articles: the share of an article's
/// sentences labelled `convergence` minus the share labelled `divergence`.
/// It runs from −1 (every sentence says the two drift apart) to +1 (every
/// sentence says they draw closer); 0 is balance, or neither. Sentences of
/// other classes dilute it: an article mostly about Western pressure, or
/// mostly byline and boilerplate, sits near 0 whatever its few stance
/// sentences say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StanceMeasure {
    /// Index of the class that counts up (`convergence`).
    pub toward: usize,
    /// Index of the class that counts down (`divergence`).
    pub away: usize,
}

impl StanceMeasure {
    /// The class that counts up.
    pub const TOWARD: &'static str = "convergence";
    /// The class that counts down.
    pub const AWAY: &'static str = "divergence";

    /// The measure for `classes`, or `None` when they lack `convergence`
    /// or `divergence` (the report then keeps input order).
    pub fn for_classes(classes: &[String]) -> Option<StanceMeasure> {
        let at = |name: &str| classes.iter().position(|c| c == name);
        Some(StanceMeasure {
            toward: at(Self::TOWARD)?,
            away: at(Self::AWAY)?,
        })
    }

    /// `(n_toward − n_away) / n`, 0 for an empty article.
    pub fn of(&self, counts: &[usize]) -> f64 {
        let n: usize = counts.iter().sum();
        if n == 0 {
            return 0.0;
        }
        (counts[self.toward] as f64 - counts[self.away] as f64) / n as f64
    }

    /// Indices of `items` ordered from the most convergent to the most
    /// divergent (by `counts_of`); ties keep input order.
    pub fn order<T>(&self, items: &[T], counts_of: impl Fn(&T) -> Vec<usize>) -> Vec<usize> {
        let measures: Vec<f64> = items.iter().map(|t| self.of(&counts_of(t))).collect();
        let mut order: Vec<usize> = (0..items.len()).collect();
        order.sort_by(|&a, &b| measures[b].total_cmp(&measures[a]));
        order
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classes() -> Vec<String> {
        ["convergence", "divergence", "western_pressure", "other"]
            .map(String::from)
            .to_vec()
    }

    #[test]
    fn parts_of_an_article_join_it() {
        let scored = |index| Scored {
            index,
            label: 3,
            probabilities: vec![0.0, 0.0, 0.0, 1.0],
            evidence: String::new(),
        };
        let part = |id: &str, first_sentence, n: usize| {
            let sentences: Vec<String> = (0..n)
                .map(|i| format!("S{}.", first_sentence + i))
                .collect();
            let doc = Document {
                first_sentence,
                ..Document::from_sentences(id, &sentences)
            };
            let scored: Vec<Scored> = (0..n).map(scored).collect();
            Article::from_document(None, &doc, &scored)
        };
        // a (3 parts), b, a again (another file of the same name), a part
        // that does not follow on (kept apart).
        let batch = Batch::scored(
            classes(),
            [
                part("a", 0, 2),
                part("a", 2, 1),
                part("a", 3, 2),
                part("b", 0, 1),
                part("a", 0, 1),
                part("a", 5, 1),
            ],
        );
        let shape: Vec<(&str, Vec<u64>)> = batch
            .articles
            .iter()
            .map(|a| {
                let ids = a.sentences.iter().map(|s| s.sentence_id).collect();
                (a.doc_id.as_str(), ids)
            })
            .collect();
        assert_eq!(
            shape,
            [
                ("a", vec![1, 2, 3, 4, 5]),
                ("b", vec![1]),
                ("a", vec![1]),
                ("a", vec![6])
            ]
        );
        assert_eq!(batch.articles[0].sentences[4].text, "S4.");
    }

    #[test]
    fn stance_measure_table() {
        let m = StanceMeasure::for_classes(&classes()).unwrap();
        for (counts, want) in [
            ([4, 0, 0, 0], 1.0),
            ([0, 2, 0, 0], -1.0),
            ([1, 1, 0, 0], 0.0),
            ([3, 1, 0, 4], 0.25),
            ([0, 0, 5, 5], 0.0),
            ([0, 0, 0, 0], 0.0),
        ] {
            assert!((m.of(&counts) - want).abs() < 1e-12, "{counts:?}");
        }
        assert_eq!(StanceMeasure::for_classes(&["a".into(), "b".into()]), None);
    }

    #[test]
    fn stance_order_is_descending_and_stable() {
        let m = StanceMeasure::for_classes(&classes()).unwrap();
        let items = [
            [0, 1, 0, 0],
            [1, 0, 0, 0],
            [0, 0, 1, 0],
            [0, 0, 0, 1],
            [2, 1, 0, 0],
        ];
        assert_eq!(m.order(&items, |c| c.to_vec()), [1, 4, 2, 3, 0]);
    }

    #[test]
    fn reads_predictions_csv_and_jsonl_alike() {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("p.csv");
        std::fs::write(
            &csv,
            "doc_id,sentence_id,text,label,p_x,p_y,evidence,date\n\
             a,1,'=1+1,y,0.4,0.6,e (+0.1),\n\
             a,2,\"Two, <b>\",x,0.9,0.1,,2026-01-05\n\
             b,1,Three.,x,0.7,0.3,,\n",
        )
        .unwrap();
        let jsonl = dir.path().join("p.jsonl");
        std::fs::write(
            &jsonl,
            concat!(
                r#"{"doc_id":"a","sentence_id":1,"text":"=1+1","label":"y","p_x":0.4,"p_y":0.6,"evidence":"e (+0.1)"}"#,
                "\n",
                r#"{"doc_id":"a","sentence_id":2,"text":"Two, <b>","label":"x","p_x":0.9,"p_y":0.1,"evidence":"","date":"2026-01-05"}"#,
                "\n\n",
                r#"{"doc_id":"b","sentence_id":1,"text":"Three.","label":"x","p_x":0.7,"p_y":0.3,"evidence":""}"#,
                "\n"
            ),
        )
        .unwrap();
        let from_csv = Batch::read(&csv).unwrap();
        assert_eq!(from_csv, Batch::read(&jsonl).unwrap());
        assert_eq!(from_csv.classes, ["x", "y"]);
        assert_eq!(from_csv.articles.len(), 2);
        let a = &from_csv.articles[0];
        assert_eq!(a.date.as_deref(), Some("2026-01-05"));
        assert_eq!(a.sentences[0].text, "=1+1");
        assert!(!a.sentences[0].is_low_confidence());
        assert_eq!(from_csv.totals(), [2, 1]);
        assert_eq!(from_csv.summaries()[0].counts, [1, 1]);
    }

    #[test]
    fn bad_predictions_name_line_and_column() {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("p.csv");
        std::fs::write(&csv, "doc_id,sentence_id,text,label,p_x\na,1,T,z,1.0\n").unwrap();
        let err = Batch::read(&csv).unwrap_err().to_string();
        assert!(
            err.ends_with("p.csv:2: column `label`: not one of the p_<class> columns: \"z\""),
            "{err}"
        );
        std::fs::write(&csv, "doc_id,sentence_id,text,label\n").unwrap();
        assert!(Batch::read(&csv)
            .unwrap_err()
            .to_string()
            .contains("p_<class>"));
        std::fs::write(&csv, "doc_id,sentence_id,text,label,p_x\n").unwrap();
        assert!(Batch::read(&csv)
            .unwrap_err()
            .to_string()
            .contains("no predictions"));
    }
}
