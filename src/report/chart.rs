//! Pictures: per-article stacked bars of predicted labels, and the
//! confusion matrix. Drawn with plotters' SVG backend (no font libraries
//! needed: text stays text and the viewer renders it).
//!
//! Colours follow the class order of the declaration, so the same class has
//! the same colour in every chart; the last class (conventionally `other`)
//! is grey.

use plotters::coord::ranged1d::SegmentValue;
use plotters::prelude::*;

use crate::error::{Error, Result};
use crate::metrics::Metrics;
use crate::score::DocSummary;

const PALETTE: [RGBColor; 6] = [
    RGBColor(42, 157, 143),  // teal
    RGBColor(231, 111, 81),  // orange
    RGBColor(38, 70, 83),    // dark blue
    RGBColor(233, 196, 106), // sand
    RGBColor(124, 92, 168),  // violet
    RGBColor(120, 160, 60),  // olive
];
const GREY: RGBColor = RGBColor(173, 181, 189);

/// The colour of class `i` of `n`.
pub fn class_color(i: usize, n: usize) -> RGBColor {
    if n > 1 && i == n - 1 {
        GREY
    } else {
        PALETTE[i % PALETTE.len()]
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

/// A horizontal stacked bar per article: the share of its sentences
/// predicted as each class, labelled with the percentage where it fits, with
/// the legend above the bars.
pub fn article_chart(classes: &[String], articles: &[DocSummary]) -> Result<String> {
    let n = articles.len().max(1);
    if articles.is_empty() {
        return Err(Error::Config(
            "cannot draw chart: no article was scored".into(),
        ));
    }
    let label_width = articles
        .iter()
        .map(|a| text_width(&a.doc_id, 13))
        .max()
        .unwrap_or(60)
        .clamp(60, 360)
        + 12;
    let width = 900u32.max(label_width + 500);
    let height = 120 + 34 * n as u32;
    // Row of article i, counted from the bottom, so the first article is on top.
    let row = |i: usize| n - 1 - i;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(chart_error)?;
        let root = root
            .titled(
                "Predicted labels per article (% of sentences)",
                ("sans-serif", 20),
            )
            .map_err(chart_error)?;
        let (legend, body) = root.split_vertically(30);
        draw_legend(&legend, classes, label_width + 12)?;
        let mut chart = ChartBuilder::on(&body)
            .margin(12)
            .margin_top(4)
            .x_label_area_size(32)
            .y_label_area_size(label_width)
            .build_cartesian_2d(0f64..100f64, (0..n - 1).into_segmented())
            .map_err(chart_error)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(n)
            .y_label_style(("sans-serif", 13))
            .y_label_formatter(&|v| match v {
                SegmentValue::CenterOf(r) if *r < n => articles
                    .get(n - 1 - r)
                    .map_or(String::new(), |a| a.doc_id.clone()),
                _ => String::new(),
            })
            .x_desc("% of sentences")
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
                    bar.set_margin(4, 4, 0, 0);
                    bars.push(bar);
                }
                if right - left >= 7.0 {
                    labels.push(Text::new(
                        format!("{:.0}%", right - left),
                        ((left + right) / 2.0 - 2.5, SegmentValue::CenterOf(i)),
                        ("sans-serif", 12).into_font().color(&WHITE),
                    ));
                }
            }
            chart.draw_series(bars).map_err(chart_error)?;
            chart.draw_series(labels).map_err(chart_error)?;
        }
        root.present().map_err(chart_error)?;
    }
    Ok(svg)
}

/// A one-line legend: a coloured box and the class name for each class.
fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    classes: &[String],
    left: u32,
) -> Result<()> {
    let mut x = left as i32;
    for (c, class) in classes.iter().enumerate() {
        let color = class_color(c, classes.len());
        area.draw(&Rectangle::new([(x, 8), (x + 14, 22)], color.filled()))
            .map_err(chart_error)?;
        area.draw(&Text::new(class.as_str(), (x + 20, 9), ("sans-serif", 14)))
            .map_err(chart_error)?;
        x += 20 + text_width(class, 14) as i32 + 24;
    }
    Ok(())
}

/// The confusion matrix as a heat map: rows are true labels, columns
/// predicted ones; each cell shows its count and is shaded by the share of
/// its row.
pub fn confusion_chart(metrics: &Metrics) -> Result<String> {
    let k = metrics.classes.len().max(1);
    let label_width = metrics
        .classes
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
        .unwrap_or(90)
        .max(90);
    let width = label_width + cell * k as u32 + 40;
    let height = 90 + cell * k as u32 + 50;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(chart_error)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                "Confusion matrix (rows: true, columns: predicted)",
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
            SegmentValue::CenterOf(i) if *i < k => metrics.classes[k - 1 - i].clone(),
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
            .x_desc("predicted")
            .y_desc("true")
            .draw()
            .map_err(chart_error)?;
        let mut cells = Vec::new();
        let mut texts = Vec::new();
        for (t, row) in metrics.confusion.iter().enumerate() {
            let total: usize = row.iter().sum();
            for (p, &count) in row.iter().enumerate() {
                let share = if total > 0 {
                    count as f64 / total as f64
                } else {
                    0.0
                };
                let y = k - 1 - t;
                let shade = RGBColor(
                    (255.0 - share * (255.0 - 38.0)) as u8,
                    (255.0 - share * (255.0 - 70.0)) as u8,
                    (255.0 - share * (255.0 - 83.0)) as u8,
                );
                let mut r = Rectangle::new(
                    [
                        (SegmentValue::Exact(p), SegmentValue::Exact(y)),
                        (SegmentValue::Exact(p + 1), SegmentValue::Exact(y + 1)),
                    ],
                    shade.filled(),
                );
                r.set_margin(1, 1, 1, 1);
                cells.push(r);
                let ink = if share > 0.5 { WHITE } else { BLACK };
                texts.push(Text::new(
                    count.to_string(),
                    (SegmentValue::CenterOf(p), SegmentValue::CenterOf(y)),
                    ("sans-serif", 16).into_font().color(&ink),
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
                sentences: 4,
                counts: vec![2, 1, 1],
                probability_sums: vec![2.0, 1.0, 1.0],
            },
            DocSummary {
                doc_id: "empty".into(),
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
        for want in ["x", "y", "1", "0", "predicted", "true"] {
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
    }
}
