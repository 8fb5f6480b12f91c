//! Pictures: per-article stacked bars of predicted labels, and the
//! confusion matrix. Drawn with plotters' SVG backend (no font libraries
//! needed: text stays text and the viewer renders it).
//!
//! Colours follow the class order of the declaration, so the same class has
//! the same colour in every chart and in the HTML report. They come from
//! the Okabe–Ito palette, which stays distinct under the common forms of
//! colour blindness; the last class (conventionally `other`) is grey. Text
//! on a coloured area is black or white, whichever contrasts more (at
//! least 4.5:1 on every colour used here).

use plotters::coord::ranged1d::SegmentValue;
use plotters::prelude::*;

use super::batch::StanceMeasure;
use crate::error::{Error, Result};
use crate::metrics::Metrics;
use crate::score::DocSummary;

const PALETTE: [RGBColor; 6] = [
    RGBColor(0, 114, 178),   // blue
    RGBColor(213, 94, 0),    // vermillion
    RGBColor(204, 121, 167), // reddish purple
    RGBColor(0, 158, 115),   // bluish green
    RGBColor(86, 180, 233),  // sky blue
    RGBColor(240, 228, 66),  // yellow
];
const GREY: RGBColor = RGBColor(153, 153, 153);

/// The colour of class `i` of `n`.
pub fn class_color(i: usize, n: usize) -> RGBColor {
    if n > 1 && i == n - 1 {
        GREY
    } else {
        PALETTE[i % PALETTE.len()]
    }
}

fn hex(c: RGBColor) -> String {
    format!("#{:02x}{:02x}{:02x}", c.0, c.1, c.2)
}

/// The colour of class `i` of `n` as CSS hex (`#0072b2`).
pub fn class_hex(i: usize, n: usize) -> String {
    hex(class_color(i, n))
}

/// A light tint of class `i`'s colour (30% colour on white) as CSS hex: a
/// background dark text reads well on.
pub fn class_tint_hex(i: usize, n: usize) -> String {
    let c = class_color(i, n);
    let mix = |v: u8| (255.0 - 0.3 * (255.0 - v as f64)).round() as u8;
    hex(RGBColor(mix(c.0), mix(c.1), mix(c.2)))
}

/// WCAG relative luminance of a colour.
fn luminance(c: RGBColor) -> f64 {
    let lin = |v: u8| {
        let v = v as f64 / 255.0;
        if v <= 0.04045 {
            v / 12.92
        } else {
            ((v + 0.055) / 1.055).powf(2.4)
        }
    };
    0.2126 * lin(c.0) + 0.7152 * lin(c.1) + 0.0722 * lin(c.2)
}

/// WCAG contrast ratio of two colours (1 to 21).
pub fn contrast(a: RGBColor, b: RGBColor) -> f64 {
    let (la, lb) = (luminance(a), luminance(b));
    (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
}

/// Black or white, whichever contrasts more with `background`.
pub fn ink(background: RGBColor) -> RGBColor {
    if contrast(background, BLACK) >= contrast(background, WHITE) {
        BLACK
    } else {
        WHITE
    }
}

fn chart_error<E: std::fmt::Debug>(e: E) -> Error {
    Error::Chart(format!("{e:?}"))
}

/// Rough width in pixels of `text` at `size` (SVG text is laid out by the
/// viewer; this only sizes margins).
fn text_width(text: &str, size: u32) -> u32 {
    (text.chars().count() as f64 * size as f64 * 0.6).ceil() as u32
}

/// `text` cut to `max` characters, with `…` when cut.
fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let mut s: String = text.chars().take(max - 1).collect();
        s.push('…');
        s
    }
}

/// The article chart shows at most this many articles.
pub const MAX_CHART_ARTICLES: usize = 40;

/// The articles the chart shows, top to bottom: the
/// [`MAX_CHART_ARTICLES`] with the most sentences when there are more
/// (ties: the earlier), ordered by the [`StanceMeasure`] (most convergent
/// first) when the classes have one, else in input order.
pub fn chart_articles(classes: &[String], articles: &[DocSummary]) -> Vec<usize> {
    let mut shown: Vec<usize> = (0..articles.len()).collect();
    if shown.len() > MAX_CHART_ARTICLES {
        shown.sort_by(|&a, &b| articles[b].sentences.cmp(&articles[a].sentences));
        shown.truncate(MAX_CHART_ARTICLES);
        shown.sort_unstable();
    }
    match StanceMeasure::for_classes(classes) {
        Some(m) => {
            let picked: Vec<&DocSummary> = shown.iter().map(|&i| &articles[i]).collect();
            m.order(&picked, |a| a.counts.clone())
                .into_iter()
                .map(|j| shown[j])
                .collect()
        }
        None => shown,
    }
}

/// A horizontal stacked bar per article: the share of its sentences
/// predicted as each class, labelled with the percentage where it fits,
/// and beside it the sentence count (and the stance measure), so a
/// one-sentence article is not mistaken for a long one. Articles are
/// chosen and ordered by [`chart_articles`]; the title says when only the
/// longest are shown ("the 40 longest of 233 articles").
pub fn article_chart(classes: &[String], all: &[DocSummary]) -> Result<String> {
    if all.is_empty() {
        return Err(Error::Config(
            "cannot draw chart: no article was scored".into(),
        ));
    }
    let order = chart_articles(classes, all);
    let articles: Vec<&DocSummary> = order.iter().map(|&i| &all[i]).collect();
    let measure = StanceMeasure::for_classes(classes);
    let n = articles.len();
    let names: Vec<String> = articles.iter().map(|a| shorten(&a.doc_id, 40)).collect();
    let label_width = names
        .iter()
        .map(|a| text_width(a, 13))
        .max()
        .unwrap_or(60)
        .clamp(60, 340)
        + 12;
    let width = 980u32.max(label_width + 640);
    let height = 150 + 28 * n as u32;
    let row = |i: usize| n - 1 - i;
    let mut title = String::from("Predicted labels per article (% of its sentences)");
    if measure.is_some() {
        title += ", most convergent first";
    }
    let subtitle = if n < all.len() {
        format!(
            "the {n} longest of {} articles · n = sentences · stance = share convergence − share divergence",
            all.len()
        )
    } else if measure.is_some() {
        "n = sentences · stance = share convergence − share divergence".to_string()
    } else {
        "n = sentences".to_string()
    };
    // x from 0 to 100 is the bar; beyond it, the count and the measure.
    let x_end = 128.0;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(chart_error)?;
        let root = root
            .titled(&title, ("sans-serif", 20))
            .map_err(chart_error)?;
        let (top, body) = root.split_vertically(54);
        top.draw(&Text::new(
            subtitle,
            (label_width as i32 + 12, 0),
            ("sans-serif", 13).into_font().color(&RGBColor(60, 60, 60)),
        ))
        .map_err(chart_error)?;
        draw_legend(&top, classes, label_width + 12, 24)?;
        let mut chart = ChartBuilder::on(&body)
            .margin(12)
            .margin_top(4)
            .x_label_area_size(32)
            .y_label_area_size(label_width)
            .build_cartesian_2d(0f64..x_end, (0..n - 1).into_segmented())
            .map_err(chart_error)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .disable_x_mesh()
            .y_labels(n)
            .y_label_style(("sans-serif", 13))
            .y_label_formatter(&|v| match v {
                SegmentValue::CenterOf(r) if *r < n => names[n - 1 - r].clone(),
                _ => String::new(),
            })
            .x_labels(14)
            .x_label_formatter(&|v| {
                if *v <= 100.0 && (v.round() - v).abs() < 1e-9 && (*v as i64) % 20 == 0 {
                    format!("{v:.0}%")
                } else {
                    String::new()
                }
            })
            .x_desc("% of the article's sentences")
            .draw()
            .map_err(chart_error)?;
        for c in 0..classes.len() {
            let color = class_color(c, classes.len());
            let mut bars = Vec::new();
            let mut labels = Vec::new();
            for (i, a) in articles.iter().enumerate() {
                let i = row(i);
                let shares = a.shares();
                let left: f64 = shares[..c].iter().sum::<f64>() * 100.0;
                let right = left + shares[c] * 100.0;
                if right > left {
                    let mut bar = Rectangle::new(
                        [
                            (left, SegmentValue::Exact(i)),
                            (right, SegmentValue::Exact(i + 1)),
                        ],
                        color.filled(),
                    );
                    bar.set_margin(3, 3, 0, 0);
                    bars.push(bar);
                }
                if right - left >= 7.0 {
                    labels.push(Text::new(
                        format!("{:.0}%", right - left),
                        ((left + right) / 2.0 - 2.5, SegmentValue::CenterOf(i)),
                        ("sans-serif", 12).into_font().color(&ink(color)),
                    ));
                }
            }
            chart.draw_series(bars).map_err(chart_error)?;
            chart.draw_series(labels).map_err(chart_error)?;
        }
        let counts = articles.iter().enumerate().map(|(i, a)| {
            let mut t = format!("n={}", a.sentences);
            if let Some(m) = measure {
                t += &format!("  stance {:+.2}", m.of(&a.counts));
            }
            Text::new(
                t,
                (101.5, SegmentValue::CenterOf(row(i))),
                ("sans-serif", 12).into_font().color(&BLACK),
            )
        });
        chart.draw_series(counts).map_err(chart_error)?;
        root.present().map_err(chart_error)?;
    }
    Ok(svg)
}

/// A one-line legend: a coloured box and the class name for each class.
fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    classes: &[String],
    left: u32,
    top: i32,
) -> Result<()> {
    let mut x = left as i32;
    for (c, class) in classes.iter().enumerate() {
        let color = class_color(c, classes.len());
        area.draw(&Rectangle::new(
            [(x, top), (x + 14, top + 14)],
            color.filled(),
        ))
        .map_err(chart_error)?;
        area.draw(&Text::new(
            class.as_str(),
            (x + 20, top + 1),
            ("sans-serif", 14),
        ))
        .map_err(chart_error)?;
        x += 20 + text_width(class, 14) as i32 + 24;
    }
    Ok(())
}

/// The shade of a confusion cell holding `share` of its row: white for 0,
/// dark blue for 1.
fn shade(share: f64) -> RGBColor {
    let mix = |dark: f64| (255.0 - share * (255.0 - dark)).round() as u8;
    RGBColor(mix(8.0), mix(48.0), mix(107.0))
}

/// The cross-validated confusion matrix as a heat map: rows are the labels
/// sentences were given ("labelled as", with the row's count), columns the
/// labels predicted; each cell shows the share of its row and the count,
/// and is shaded by the share, so the diagonal reads as recall and an
/// error cell is dark only when the error is common within its row.
pub fn confusion_chart(metrics: &Metrics) -> Result<String> {
    let k = metrics.classes.len().max(1);
    let row_totals: Vec<usize> = metrics.confusion.iter().map(|r| r.iter().sum()).collect();
    let row_names: Vec<String> = metrics
        .classes
        .iter()
        .zip(&row_totals)
        .map(|(c, n)| format!("{c} (n={n})"))
        .collect();
    let label_width = row_names
        .iter()
        .map(|c| text_width(c, 13))
        .max()
        .unwrap_or(60)
        + 16;
    let cell = metrics
        .classes
        .iter()
        .map(|c| text_width(c, 13) + 16)
        .max()
        .unwrap_or(110)
        .max(110);
    let width = (label_width + cell * k as u32 + 40).max(560);
    let height = 110 + cell * k as u32 + 50;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(chart_error)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                "Confusion matrix, cross-validated (% of each row, count)",
                ("sans-serif", 16),
            )
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(label_width)
            .build_cartesian_2d((0..k - 1).into_segmented(), (0..k - 1).into_segmented())
            .map_err(chart_error)?;
        let name = |v: &SegmentValue<usize>| match v {
            SegmentValue::CenterOf(i) => metrics.classes.get(*i).cloned().unwrap_or_default(),
            _ => String::new(),
        };
        // Row i of the matrix is drawn at the top: y = k - 1 - i.
        let name_y = |v: &SegmentValue<usize>| match v {
            SegmentValue::CenterOf(i) if *i < k => row_names[k - 1 - i].clone(),
            _ => String::new(),
        };
        chart
            .configure_mesh()
            .disable_mesh()
            .x_labels(k)
            .y_labels(k)
            .x_label_formatter(&name)
            .y_label_formatter(&name_y)
            .x_label_style(("sans-serif", 13))
            .y_label_style(("sans-serif", 13))
            .x_desc("predicted as")
            .y_desc("labelled as")
            .draw()
            .map_err(chart_error)?;
        let mut cells = Vec::new();
        let mut texts = Vec::new();
        for (t, row) in metrics.confusion.iter().enumerate() {
            let total = row_totals[t];
            for (p, &count) in row.iter().enumerate() {
                let share = if total > 0 {
                    count as f64 / total as f64
                } else {
                    0.0
                };
                let y = k - 1 - t;
                let fill = shade(share);
                let mut r = Rectangle::new(
                    [
                        (SegmentValue::Exact(p), SegmentValue::Exact(y)),
                        (SegmentValue::Exact(p + 1), SegmentValue::Exact(y + 1)),
                    ],
                    fill.filled(),
                );
                r.set_margin(1, 1, 1, 1);
                cells.push(r);
                texts.push(Text::new(
                    format!("{:.0}% ({count})", 100.0 * share),
                    (SegmentValue::CenterOf(p), SegmentValue::CenterOf(y)),
                    ("sans-serif", 15).into_font().color(&ink(fill)).pos(
                        plotters::style::text_anchor::Pos::new(
                            plotters::style::text_anchor::HPos::Center,
                            plotters::style::text_anchor::VPos::Center,
                        ),
                    ),
                ));
            }
        }
        chart.draw_series(cells).map_err(chart_error)?;
        chart.draw_series(texts).map_err(chart_error)?;
        root.present().map_err(chart_error)?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(svg: &str) -> roxmltree::Document<'_> {
        roxmltree::Document::parse(svg).expect("valid SVG XML")
    }

    fn texts(doc: &roxmltree::Document<'_>) -> Vec<String> {
        doc.descendants()
            .filter(|n| n.has_tag_name("text"))
            .filter_map(|n| n.text().map(|t| t.trim().to_string()))
            .collect()
    }

    #[test]
    fn article_chart_names_every_article_and_class() {
        let classes: Vec<String> = ["convergence", "divergence", "other"]
            .map(String::from)
            .to_vec();
        let articles = vec![
            DocSummary {
                doc_id: "a & <b>".into(),
                source: None,
                sentences: 4,
                counts: vec![2, 1, 1],
                probability_sums: vec![2.0, 1.0, 1.0],
            },
            DocSummary {
                doc_id: "empty".into(),
                source: None,
                sentences: 0,
                counts: vec![0, 0, 0],
                probability_sums: vec![0.0, 0.0, 0.0],
            },
        ];
        let svg = article_chart(&classes, &articles).unwrap();
        let doc = parse(&svg);
        let texts = texts(&doc);
        for name in [
            "a & <b>",
            "empty",
            "convergence",
            "divergence",
            "other",
            "50%",
        ] {
            assert!(
                texts.iter().any(|t| t == name),
                "{name} missing from {texts:?}"
            );
        }
    }

    #[test]
    fn confusion_chart_shows_counts_and_classes() {
        let classes: Vec<String> = ["x", "y"].map(String::from).to_vec();
        let m = Metrics::compute(&classes, &[0, 0, 1], &[0, 1, 1]);
        let svg = confusion_chart(&m).unwrap();
        let texts = texts(&parse(&svg));
        for want in [
            "x (n=2)",
            "y (n=1)",
            "50% (1)",
            "100% (1)",
            "0% (0)",
            "predicted as",
            "labelled as",
            "Confusion matrix, cross-validated (% of each row, count)",
        ] {
            assert!(
                texts.iter().any(|t| t == want),
                "{want} missing from {texts:?}"
            );
        }
    }

    #[test]
    fn last_class_is_grey() {
        assert_eq!(class_color(3, 4), GREY);
        assert_ne!(class_color(0, 4), GREY);
        assert_eq!(class_hex(0, 4), "#0072b2");
        assert_eq!(class_tint_hex(3, 4), "#e0e0e0");
    }

    #[test]
    fn text_on_every_colour_is_readable() {
        // WCAG AA for normal text: 4.5:1.
        assert!((contrast(WHITE, BLACK) - 21.0).abs() < 1e-9);
        assert!(contrast(GREY, WHITE) < 4.5, "white on grey was the old bug");
        for c in PALETTE.iter().chain([&GREY]) {
            assert!(contrast(*c, ink(*c)) >= 4.5, "{c:?}");
        }
        for i in 0..=20 {
            let s = shade(i as f64 / 20.0);
            assert!(contrast(s, ink(s)) >= 4.5, "{s:?}");
        }
    }

    fn summary(id: &str, counts: Vec<usize>) -> DocSummary {
        DocSummary {
            doc_id: id.into(),
            source: None,
            sentences: counts.iter().sum(),
            probability_sums: counts.iter().map(|&c| c as f64).collect(),
            counts,
        }
    }

    fn four() -> Vec<String> {
        ["convergence", "divergence", "western_pressure", "other"]
            .map(String::from)
            .to_vec()
    }

    #[test]
    fn article_chart_is_sorted_by_stance_with_counts() {
        let articles = vec![
            summary("apart", vec![0, 3, 0, 1]),
            summary("close", vec![1, 0, 0, 0]),
            summary("mixed", vec![2, 1, 1, 0]),
        ];
        assert_eq!(chart_articles(&four(), &articles), [1, 2, 0]);
        let svg = article_chart(&four(), &articles).unwrap();
        let texts = texts(&parse(&svg));
        for want in [
            "n=1  stance +1.00",
            "n=4  stance +0.25",
            "n=4  stance -0.75",
        ] {
            assert!(
                texts.iter().any(|t| t == want),
                "{want} missing from {texts:?}"
            );
        }
        // Top to bottom: the most convergent first.
        let doc = parse(&svg);
        let y = |name: &str| -> f64 {
            doc.descendants()
                .find(|n| n.has_tag_name("text") && n.text().map(str::trim) == Some(name))
                .and_then(|n| n.attribute("y"))
                .unwrap()
                .parse()
                .unwrap()
        };
        assert!(y("close") < y("mixed") && y("mixed") < y("apart"));
        // No white text anywhere on the grey of `other` (25% of "apart").
        assert!(!svg.contains("fill=\"#FFFFFF\">25%"), "white on grey");
    }

    #[test]
    fn article_chart_caps_large_batches() {
        let articles: Vec<DocSummary> = (0..50)
            .map(|i| summary(&format!("d{i}"), vec![i % 3, 1, 0, i]))
            .collect();
        let shown = chart_articles(&four(), &articles);
        assert_eq!(shown.len(), MAX_CHART_ARTICLES);
        assert!(shown.iter().all(|&i| i >= 10), "the longest are kept");
        let svg = article_chart(&four(), &articles).unwrap();
        let texts = texts(&parse(&svg));
        assert!(
            texts
                .iter()
                .any(|t| t.starts_with("the 40 longest of 50 articles")),
            "{texts:?}"
        );
        let height: u32 = parse(&svg)
            .root_element()
            .attribute("height")
            .unwrap()
            .parse()
            .unwrap();
        assert!(height < 1400, "{height}");
    }
}
