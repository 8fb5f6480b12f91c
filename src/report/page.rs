//! The HTML report: one self-contained page an analyst opens in a browser.
//!
//! The page holds an overview (sentences per label, articles ordered by the
//! [`StanceMeasure`]), the trend of the labels per week or month when
//! articles are dated, and every article as text with each sentence
//! highlighted by its label. It loads nothing: the styles and the few lines
//! of script that run the filters are inline, and a Content-Security-Policy
//! forbids any request and any script but that one (by its hash), so a
//! sentence that slipped past escaping still could not run. Everything else
//! works with scripts off; an address ending in an article's anchor
//! (`report.html#a3`) shows that article alone. Every value from the batch is HTML-escaped by
//! the template (maud); only our own constants and numbers are written
//! unescaped.

use maud::{html, Markup, PreEscaped, DOCTYPE};
use sha2::{Digest, Sha256};

use super::batch::{Batch, Sentence, StanceMeasure, LOW_CONFIDENCE};
use super::chart::{class_hex, class_tint_hex};
use super::trend::Trend;

/// Border styles per class, so labels differ by more than colour.
const BORDERS: [&str; 4] = ["solid", "dashed", "dotted", "double"];

const STYLE: &str = r#"
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1a1a1a;background:#fff;margin:0 auto;max-width:72rem;padding:0 1.25rem 4rem}
h1{font-size:1.6rem;margin:1.5rem 0 .25rem}h2{font-size:1.25rem;margin-top:2.25rem;border-bottom:1px solid #ccc}
h3{font-size:1.05rem;margin:1.75rem 0 .25rem}
table{border-collapse:collapse;margin:.5rem 0}th,td{padding:.2rem .6rem;text-align:left;border-bottom:1px solid #e3e3e3;vertical-align:top}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
.sw{display:inline-block;width:.9em;height:.9em;margin-right:.35em;vertical-align:-.1em;border-bottom-width:3px}
.bar{display:flex;width:12rem;height:.9rem;border:1px solid #888}.bar span{display:block;height:100%}
.meta{color:#444;font-size:.9rem;margin:0 0 .5rem}.doc .title{font-weight:600;margin:0 0 .25rem}.note{color:#444;font-size:.9rem;max-width:48rem}
.text{max-width:48rem;line-height:1.9}
.key{padding:.05em .2em}
.s{position:relative;padding:.05em .1em;border-bottom-width:3px;cursor:help}
.s:focus{outline:2px solid #000;outline-offset:1px}
.s.low .t{font-style:italic}.s.low::after{content:"?";font-size:.75em;font-weight:bold;vertical-align:super;margin-left:.1em}
.tip{display:none;position:absolute;left:0;top:100%;z-index:2;width:26rem;max-width:80vw;background:#fff;color:#1a1a1a;border:1px solid #333;padding:.4rem .6rem;font:13px/1.4 system-ui,sans-serif;font-style:normal;box-shadow:0 2px 6px rgba(0,0,0,.25)}
.s:hover .tip,.s:focus .tip{display:block}
.tip b{font-weight:600}
#filters{position:sticky;top:0;background:#fff;border-bottom:1px solid #ccc;padding:.4rem 0;z-index:3}
#filters fieldset{display:inline-block;border:0;margin:0 1.5rem 0 0;padding:0}#filters legend{font-weight:600;float:left;margin-right:.5rem}
#filters label{margin-right:.8rem;white-space:nowrap}
.hide-low .s.low,.hide-high .s.high{opacity:.18}
body:has(article.doc:target) section:not(#texts),body:has(article.doc:target) article.doc:not(:target),body:has(article.doc:target) #texts>.note{display:none}
article.doc{scroll-margin-top:100vh}.s{scroll-margin-top:4rem}.s:target{outline:3px solid #000}
.back{font-size:.85rem;font-weight:normal;margin-left:.75rem}
svg text{font:12px system-ui,sans-serif;fill:#1a1a1a}
"#;

const SCRIPT: &str = r#"(function(){var f=document.getElementById("filters");if(!f)return;f.hidden=false;var b=document.body;function apply(){f.querySelectorAll("input[data-class]").forEach(function(i){b.classList.toggle("hide-c"+i.getAttribute("data-class"),!i.checked)});var v=document.getElementById("confidence").value;b.classList.toggle("hide-low",v==="high");b.classList.toggle("hide-high",v==="low")}f.addEventListener("change",apply);apply()})();"#;

/// A CSS class name made of `name`'s ASCII letters, digits, `-` and `_`
/// (anything else becomes `_`), prefixed with `l-`: `l-convergence`.
pub fn label_class(name: &str) -> String {
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("l-{safe}")
}

/// Standard base64 (with padding) of `bytes`, for the script hash.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | (b as u32) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The page's Content-Security-Policy: no requests of any kind, inline
/// styles, and only the filter script (by its SHA-256) may run.
fn content_security_policy() -> String {
    let hash = base64(&Sha256::digest(SCRIPT.as_bytes()));
    format!(
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'sha256-{hash}'; base-uri 'none'; form-action 'none'"
    )
}

/// Styles that depend on the classes: colours, borders and the filters.
fn class_styles(classes: &[String]) -> String {
    let n = classes.len();
    let mut css = String::new();
    for c in 0..n {
        let border = BORDERS[c % BORDERS.len()];
        css += &format!(
            ".c{c}{{background:{};border-bottom:3px {border} {}}}.sw.c{c}{{background:{}}}.bar .c{c}{{background:{}}}.hide-c{c} .s.c{c}{{opacity:.18}}\n",
            class_tint_hex(c, n),
            class_hex(c, n),
            class_hex(c, n),
            class_hex(c, n)
        );
    }
    css
}

/// `+0.25`, `−0.50`, `0.00`: the stance measure as printed.
fn signed(v: f64) -> String {
    if v.abs() < 0.005 {
        "0.00".into()
    } else if v > 0.0 {
        format!("+{v:.2}")
    } else {
        format!("\u{2212}{:.2}", -v)
    }
}

fn percent(part: usize, whole: usize) -> String {
    if whole == 0 {
        "–".into()
    } else {
        format!("{:.0}%", 100.0 * part as f64 / whole as f64)
    }
}

/// The report page for `batch`. `title` heads it (escaped like the rest).
pub fn report_page(batch: &Batch, title: &str) -> String {
    let classes = &batch.classes;
    let k = classes.len();
    let measure = StanceMeasure::for_classes(classes);
    let order: Vec<usize> = match measure {
        Some(m) => m.order(&batch.articles, |a| a.counts(k)),
        None => (0..batch.articles.len()).collect(),
    };
    let totals = batch.totals();
    let total = batch.sentences();
    let trend = Trend::of(batch);
    // Row of each sentence in the predictions file (1-based after the
    // header), in input order.
    let mut first_row = Vec::with_capacity(batch.articles.len());
    let mut row = 0u64;
    for a in &batch.articles {
        first_row.push(row + 1);
        row += a.sentences.len() as u64;
    }
    let low = batch
        .articles
        .iter()
        .flat_map(|a| &a.sentences)
        .filter(|s| s.is_low_confidence())
        .count();

    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta http-equiv="Content-Security-Policy" content=(content_security_policy());
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                style { (PreEscaped(STYLE)) (PreEscaped(class_styles(classes))) }
            }
            body {
                h1 { (title) }
                p.meta {
                    (batch.articles.len()) " articles, " (total) " sentences. Each sentence carries the label the model found most probable; "
                    (low) " (" (percent(low, total)) ") are low-confidence (top probability below "
                    (format!("{:.0}%", LOW_CONFIDENCE * 100.0)) "), shown in italics with a “?”."
                }
                (legend(classes))
                form #filters hidden aria-label="Filters" {
                    fieldset {
                        legend { "Show" }
                        @for (c, name) in classes.iter().enumerate() {
                            label { input type="checkbox" checked data-class=(c); " " span class=(format!("sw c{c}")) {} (name) }
                        }
                    }
                    fieldset {
                        legend { label for="confidence" { "Confidence" } }
                        select #confidence {
                            option value="all" { "all sentences" }
                            option value="low" { "low-confidence only" }
                            option value="high" { "confident only" }
                        }
                    }
                }
                noscript { p.note { "The label and confidence filters need JavaScript; everything else on this page works without it." } }

                section #overview {
                    h2 { "Overview" }
                    table #label-totals {
                        thead { tr { th { "label" } th.n { "sentences" } th.n { "share" } } }
                        tbody {
                            @for (c, name) in classes.iter().enumerate() {
                                tr { td { span class=(format!("sw c{c}")) {} (name) } td.n { (totals[c]) } td.n { (percent(totals[c], total)) } }
                            }
                        }
                        tfoot { tr { th { "all" } th.n { (total) } th.n { "100%" } } }
                    }
                    h3 { "Articles" }
                    @if measure.is_some() {
                        p.note {
                            "Sorted by the stance measure: the share of an article’s sentences labelled "
                            b { (StanceMeasure::TOWARD) } " minus the share labelled " b { (StanceMeasure::AWAY) }
                            ". It runs from +1 (every sentence says China and Russia draw closer) to −1 (every sentence says they drift apart); 0 means balance or neither. "
                            "Sentences of the other labels dilute it, so an article about Western pressure, or mostly boilerplate, sits near 0. "
                            "Short articles swing widely: read the measure with the sentence count beside it."
                        }
                    } @else {
                        p.note { "These classes have no convergence and divergence labels, so articles keep their input order." }
                    }
                    table #articles-table {
                        thead { tr {
                            th.n { "#" } th { "article" } th { "date" } th { "source" } th.n { "sentences" }
                            @if measure.is_some() { th.n { "stance" } }
                            th { "labels" }
                        } }
                        tbody {
                            @for (rank, &i) in order.iter().enumerate() {
                                @let a = &batch.articles[i];
                                @let counts = a.counts(k);
                                tr data-doc-id=(a.doc_id) {
                                    td.n { (rank + 1) }
                                    td { a href=(format!("#a{i}")) { (a.doc_id) } }
                                    td { (a.date.as_deref().unwrap_or("–")) }
                                    td { (a.source.as_deref().unwrap_or("–")) }
                                    td.n { (a.sentences.len()) }
                                    @if let Some(m) = measure { td.n { (signed(m.of(&counts))) } }
                                    td { (share_bar(classes, &counts)) }
                                }
                            }
                        }
                    }
                }

                @if let Some(t) = &trend {
                    (trend_section(classes, t))
                }

                section #texts {
                    h2 { "Articles as text" }
                    p.note { "Hover over or tab to a sentence for its probabilities, its evidence and its row in the predictions file." }
                    @for &i in &order {
                        @let a = &batch.articles[i];
                        article.doc id=(format!("a{i}")) data-doc-id=(a.doc_id) {
                            h3 { (a.doc_id) a.back href=(format!("#a{i}")) title="This article alone (its address can be shared)" { "alone" } " " a.back href="#overview" { "overview" } }
                            @if let Some(t) = &a.title { p.title { (t) } }
                            p.meta {
                                (a.sentences.len()) " sentences"
                                @if let Some(d) = &a.date { " · " (d) }
                                @if let Some(s) = &a.source { " · " (s) }
                                @if let Some(m) = measure { " · stance " (signed(m.of(&a.counts(k)))) }
                            }
                            p.text {
                                @for (j, s) in a.sentences.iter().enumerate() {
                                    (sentence(classes, i, &a.doc_id, first_row[i] + j as u64, s)) " "
                                }
                            }
                        }
                    }
                }
                script { (PreEscaped(SCRIPT)) }
            }
        }
    };
    markup.into_string()
}

/// The colour key: a swatch with the class's colour and border per class.
fn legend(classes: &[String]) -> Markup {
    html! {
        p #legend {
            "Legend: "
            @for (c, name) in classes.iter().enumerate() {
                span class=(format!("key c{c}")) { (name) } " "
            }
        }
    }
}

/// A stacked bar of label shares, with the counts in its tooltip.
fn share_bar(classes: &[String], counts: &[usize]) -> Markup {
    let n: usize = counts.iter().sum();
    let tip = classes
        .iter()
        .zip(counts)
        .map(|(c, k)| format!("{c} {k}"))
        .collect::<Vec<_>>()
        .join(", ");
    html! {
        span.bar title=(tip) {
            @for (c, &count) in counts.iter().enumerate() {
                @if count > 0 {
                    span class=(format!("c{c}")) style=(format!("width:{:.2}%;border:0", 100.0 * count as f64 / n as f64)) {}
                }
            }
        }
    }
}

/// One sentence: its text highlighted by label, and a tooltip (shown on
/// hover and focus, no script) with the probabilities, the evidence and
/// where its row is.
fn sentence(classes: &[String], article: usize, doc_id: &str, row: u64, s: &Sentence) -> Markup {
    let label = classes.get(s.label).map_or("?", String::as_str);
    let confidence = if s.is_low_confidence() { "low" } else { "high" };
    let class = format!("s c{} {} {confidence}", s.label, label_class(label));
    html! {
        span class=(class) id=(format!("a{article}-s{}", s.sentence_id)) tabindex="0"
            data-doc-id=(doc_id) data-sentence-id=(s.sentence_id) data-label=(label)
            data-confidence=(format!("{:.3}", s.confidence())) {
            span.t { (s.text) }
            span.tip role="tooltip" {
                b { (label) } " " (format!("{:.0}%", 100.0 * s.confidence()))
                @if s.is_low_confidence() { " (low confidence)" }
                br;
                @for (c, p) in classes.iter().zip(&s.probabilities) {
                    (c) " " (format!("{:.2}", p)) "  "
                }
                @if !s.evidence.is_empty() { br; "evidence: " (s.evidence) }
                br;
                "row " (row) " of the predictions: doc_id " q { (doc_id) } ", sentence_id " (s.sentence_id)
            }
        }
    }
}

/// Geometry of the trend chart, in SVG user units.
const TREND_WIDTH: f64 = 900.0;
const TREND_LEFT: f64 = 48.0;
const TREND_RIGHT: f64 = 16.0;
const SHARE_TOP: f64 = 16.0;
const SHARE_HEIGHT: f64 = 200.0;
const COUNT_TOP: f64 = 250.0;
const COUNT_HEIGHT: f64 = 60.0;
const TREND_HEIGHT: f64 = 350.0;

/// The trend: for each period, the share of its sentences per label (a
/// point per label, sized by the period's sentences, lines joining
/// neighbouring non-empty periods) over a bar of its sentence count, so a
/// thin period looks thin. One `g.period` per period, empty ones included;
/// a table below holds the same numbers.
fn trend_section(classes: &[String], t: &Trend) -> Markup {
    let n = t.periods.len().max(1);
    let step = (TREND_WIDTH - TREND_LEFT - TREND_RIGHT) / n as f64;
    let x = |i: usize| TREND_LEFT + step * (i as f64 + 0.5);
    let max_count = t
        .periods
        .iter()
        .map(|p| p.sentences())
        .max()
        .unwrap_or(0)
        .max(1);
    let y_share = |share: f64| SHARE_TOP + SHARE_HEIGHT * (1.0 - share);
    // A period name is about 70 units wide: name every k-th period so
    // that names do not overlap.
    let label_every = (80.0 / step).ceil().max(1.0) as usize;
    let radius = |count: usize| 2.0 + 4.0 * (count as f64 / max_count as f64).sqrt();
    // One path per class; a gap where a period has no sentences.
    let paths: Vec<String> = (0..classes.len())
        .map(|c| {
            let mut d = String::new();
            let mut pen_down = false;
            for (i, p) in t.periods.iter().enumerate() {
                let total = p.sentences();
                if total == 0 {
                    pen_down = false;
                    continue;
                }
                let share = p.counts[c] as f64 / total as f64;
                d += &format!(
                    "{}{:.1},{:.1} ",
                    if pen_down { "L" } else { "M" },
                    x(i),
                    y_share(share)
                );
                pen_down = true;
            }
            d
        })
        .collect();
    let noun = t.granularity.noun();
    html! {
        section #trend {
            h2 { "Labels per " (noun) }
            p.note {
                "Share of each " (noun) "’s sentences per label (articles dated in it; a " (noun)
                " starts on " (if noun == "week" { "Monday" } else { "the 1st" }) "). The bars below count the sentences: a share over few sentences says little. "
                @if t.undated > 0 { (t.undated) " undated articles are left out." }
            }
            svg #trend-chart xmlns="http://www.w3.org/2000/svg" viewBox=(format!("0 0 {TREND_WIDTH} {TREND_HEIGHT}")) width=(TREND_WIDTH) height=(TREND_HEIGHT) role="img" aria-labelledby="trend-title" {
                title #trend-title { "Share of each label per " (noun) ", with sentence counts" }
                @for tick in [0.0, 0.25, 0.5, 0.75, 1.0] {
                    line x1=(TREND_LEFT) x2=(TREND_WIDTH - TREND_RIGHT) y1=(y_share(tick)) y2=(y_share(tick)) stroke="#ddd" {}
                    text x=(TREND_LEFT - 6.0) y=(y_share(tick) + 4.0) text-anchor="end" { (format!("{:.0}%", tick * 100.0)) }
                }
                text x=(TREND_LEFT) y=(COUNT_TOP - 8.0) { "sentences (most: " (max_count) ")" }
                @for (c, d) in paths.iter().enumerate() {
                    path.line class=(format!("line-c{c}")) d=(d) fill="none" stroke=(class_hex(c, classes.len())) stroke-width="2" {}
                }
                @for (i, p) in t.periods.iter().enumerate() {
                    @let total = p.sentences();
                    @let h = COUNT_HEIGHT * total as f64 / max_count as f64;
                    g.period data-period=(p.name) data-sentences=(total) data-articles=(p.articles) {
                        title { (p.name) ": " (total) " sentences in " (p.articles) " articles" }
                        rect x=(format!("{:.1}", x(i) - step * 0.35)) y=(format!("{:.1}", COUNT_TOP + COUNT_HEIGHT - h)) width=(format!("{:.1}", step * 0.7)) height=(format!("{:.1}", h)) fill="#777" {}
                        @if total > 0 {
                            @for (c, &count) in p.counts.iter().enumerate() {
                                circle class=(format!("point c{c}")) cx=(format!("{:.1}", x(i))) cy=(format!("{:.1}", y_share(count as f64 / total as f64))) r=(format!("{:.1}", radius(total))) fill=(class_hex(c, classes.len())) stroke="#fff" {}
                            }
                        }
                        text x=(format!("{:.1}", x(i))) y=(COUNT_TOP + COUNT_HEIGHT + 14.0) text-anchor="middle" { (total) }
                        @if i % label_every == 0 {
                            text x=(format!("{:.1}", x(i))) y=(COUNT_TOP + COUNT_HEIGHT + 30.0) text-anchor="middle" { (p.name) }
                        }
                    }
                }
            }
            details {
                summary { "The same as a table" }
                table #trend-table {
                    thead { tr { th { (noun) } th.n { "articles" } th.n { "sentences" } @for c in classes { th.n { (c) } } } }
                    tbody {
                        @for p in &t.periods {
                            tr { td { (p.name) } td.n { (p.articles) } td.n { (p.sentences()) }
                                @for &count in &p.counts { td.n { (count) " (" (percent(count, p.sentences())) ")" } } }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::batch::Article;
    use super::*;

    fn sentence(text: &str, label: usize, p: f64) -> Sentence {
        Sentence {
            sentence_id: 1,
            text: text.into(),
            label,
            probabilities: if label == 0 {
                vec![p, 1.0 - p]
            } else {
                vec![1.0 - p, p]
            },
            evidence: "<b>evidence</b> (+0.1)".into(),
        }
    }

    fn batch() -> Batch {
        Batch {
            classes: vec!["convergence".into(), "divergence".into()],
            articles: vec![
                Article {
                    doc_id: "<script>alert(1)</script>".into(),
                    source: Some("\"><img src=x onerror=alert(2)>".into()),
                    title: Some("<i>hostile</i> title".into()),
                    date: Some("2026-01-05".into()),
                    sentences: vec![
                        sentence("\"><img src=x onerror=alert(3)> & more", 1, 0.9),
                        Sentence {
                            sentence_id: 2,
                            ..sentence("Fine.", 0, 0.4)
                        },
                    ],
                },
                Article {
                    doc_id: "b".into(),
                    source: None,
                    title: None,
                    date: None,
                    sentences: vec![sentence("All good.", 0, 0.8)],
                },
            ],
        }
    }

    #[test]
    fn hostile_text_is_escaped_everywhere() {
        let page = report_page(&batch(), "Report <i>");
        for raw in [
            "<script>alert",
            "<img",
            "<b>evidence",
            "Report <i>",
            "<i>hostile",
        ] {
            assert!(!page.contains(raw), "{raw} reached the page unescaped");
        }
        for escaped in [
            "&lt;script&gt;alert(1)&lt;/script&gt;",
            "&quot;&gt;&lt;img src=x onerror=alert(3)&gt; &amp; more",
            "&lt;b&gt;evidence&lt;/b&gt;",
            "&lt;i&gt;hostile&lt;/i&gt; title",
        ] {
            assert!(page.contains(escaped), "{escaped} missing");
        }
        // Our one script, and no other.
        assert_eq!(page.matches("<script>").count(), 1);
    }

    #[test]
    fn sentences_carry_label_class_ids_and_low_confidence() {
        let page = report_page(&batch(), "r");
        // The more convergent article ("b", +1) comes first; its index is 1.
        assert!(page.find("id=\"a1\"").unwrap() < page.find("id=\"a0\"").unwrap());
        assert!(page.contains("class=\"s c1 l-divergence high\" id=\"a0-s1\""));
        assert!(page.contains("class=\"s c0 l-convergence low\" id=\"a0-s2\""));
        assert!(page.contains("row 2 of the predictions"));
        assert!(page.contains("data-period=\"2026-01-05\""));
    }

    #[test]
    fn label_classes_are_css_safe() {
        assert_eq!(label_class("western_pressure"), "l-western_pressure");
        assert_eq!(label_class("a b\"<"), "l-a_b__");
    }

    #[test]
    fn base64_matches_rfc4648() {
        for (bytes, want) in [
            (&b""[..], ""),
            (b"f", "Zg=="),
            (b"fo", "Zm8="),
            (b"foo", "Zm9v"),
            (b"foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(bytes), want);
        }
    }

    #[test]
    fn stance_measure_prints_with_sign() {
        assert_eq!(signed(0.25), "+0.25");
        assert_eq!(signed(-0.5), "\u{2212}0.50");
        assert_eq!(signed(0.001), "0.00");
    }
}
