//! Markdown → article text with the markup left out.
//!
//! Has the responsibility to keep the words a reader of the rendered page
//! reads, one block (heading, paragraph, list item, table row, quote) per
//! line, and to remember for every piece of the text where it stands in the
//! file, so sentences keep byte offsets into the `.md` file.
//!
//! The file is parsed as CommonMark with tables, strikethrough, footnotes
//! and YAML front matter (pulldown-cmark). Kept: the text of headings,
//! paragraphs, list items, block quotes, table cells and footnotes; a
//! link's text (not its target), inline code's content. Left out: emphasis
//! and heading markers, list bullets and numbers, `>`, table pipes, link
//! targets and reference definitions, images (alt text included), code
//! blocks, HTML, and the front matter, which gives the title and date. A
//! line break inside a paragraph is a space, so a sentence wrapped over two
//! lines stays one sentence.

use pulldown_cmark::{Event, HeadingLevel, Options, Parser, Tag, TagEnd};

use super::Piece;

/// Markdown with its markup left out.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Stripped {
    /// The text: one line per block.
    pub text: String,
    /// Where each piece of `text` stands in the file (sorted, not
    /// overlapping); the line breaks and spaces between pieces are not in
    /// the file.
    pub pieces: Vec<Piece>,
    /// The front matter's `title`, else the first top-level (`#`) heading.
    pub title: Option<String>,
    /// The front matter's `date` (or `published`), as written.
    pub date: Option<String>,
}

impl Stripped {
    /// Appends `text`, which the parser read from `range` of `source`.
    fn push_text(&mut self, source: &str, range: std::ops::Range<usize>, text: &str) {
        let raw = source.get(range.clone()).unwrap_or("");
        // Plain text is its range verbatim: no search. A search first sets
        // up its needle, here a whole paragraph: scoring the news corpus
        // as a folder of Markdown files ten times over took 527 ms with
        // one thread, 404 ms without it.
        let at = if raw.starts_with(text) {
            Some(0)
        } else {
            raw.find(text)
        };
        let piece = match at {
            // Verbatim (plain text, inline code without its backticks).
            Some(i) => {
                // No second space where something between was left out
                // (an image, a footnote reference).
                let mut skip = 0;
                if self.text.is_empty() || self.text.ends_with([' ', '\n']) {
                    skip = text.len() - text.trim_start_matches([' ', '\t']).len();
                }
                Piece {
                    text_start: self.text.len(),
                    text_len: text.len() - skip,
                    source_start: range.start + i + skip,
                    source_len: text.len() - skip,
                }
            }
            // An entity or an escape: it maps as a whole.
            None => Piece {
                text_start: self.text.len(),
                text_len: text.len(),
                source_start: range.start,
                source_len: range.len(),
            },
        };
        if piece.text_len == 0 {
            return;
        }
        self.text.push_str(&text[text.len() - piece.text_len..]);
        self.pieces.push(piece);
    }

    /// Ends the current line, if it has anything on it.
    fn line_break(&mut self) {
        if !self.text.is_empty() && !self.text.ends_with('\n') {
            self.text.push('\n');
        }
    }

    /// A space between words, unless the line is empty or ends in one.
    fn space(&mut self) {
        if !self.text.is_empty() && !self.text.ends_with([' ', '\n']) {
            self.text.push(' ');
        }
    }
}

/// Reads Markdown `source` (see the module docs).
pub fn strip_markdown(source: &str) -> Stripped {
    let options = Options::ENABLE_TABLES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_YAML_STYLE_METADATA_BLOCKS;
    let mut out = Stripped::default();
    // Inside code blocks, images, HTML blocks: nothing is kept.
    let mut hidden = 0usize;
    let mut in_front_matter = false;
    // The text of the first top-level heading, while it is being read.
    let mut heading: Option<String> = None;
    let mut first_heading: Option<String> = None;
    for (event, range) in Parser::new_ext(source, options).into_offset_iter() {
        match event {
            Event::Start(Tag::MetadataBlock(_)) => in_front_matter = true,
            Event::End(TagEnd::MetadataBlock(_)) => in_front_matter = false,
            Event::Text(text) if in_front_matter => read_front_matter(&text, &mut out),
            Event::Start(Tag::CodeBlock(_) | Tag::Image { .. } | Tag::HtmlBlock) => {
                hidden += 1;
            }
            Event::End(TagEnd::CodeBlock | TagEnd::HtmlBlock) => {
                hidden = hidden.saturating_sub(1);
                out.line_break();
            }
            Event::End(TagEnd::Image) => hidden = hidden.saturating_sub(1),
            _ if hidden > 0 => {}
            Event::Text(text) | Event::Code(text) => {
                if let Some(h) = heading.as_mut() {
                    h.push_str(&text);
                }
                out.push_text(source, range, &text);
            }
            Event::Start(Tag::Heading { level, .. }) => {
                out.line_break();
                if level == HeadingLevel::H1 && first_heading.is_none() {
                    heading = Some(String::new());
                }
            }
            Event::End(TagEnd::Heading(_)) => {
                if let Some(h) = heading.take() {
                    first_heading = Some(h.trim().to_string()).filter(|h| !h.is_empty());
                }
                out.line_break();
            }
            Event::Start(
                Tag::Paragraph
                | Tag::Item
                | Tag::BlockQuote(_)
                | Tag::Table(_)
                | Tag::TableHead
                | Tag::TableRow
                | Tag::FootnoteDefinition(_)
                | Tag::DefinitionListTitle
                | Tag::DefinitionListDefinition,
            )
            | Event::End(
                TagEnd::Paragraph
                | TagEnd::Item
                | TagEnd::BlockQuote(_)
                | TagEnd::Table
                | TagEnd::TableHead
                | TagEnd::TableRow
                | TagEnd::FootnoteDefinition
                | TagEnd::DefinitionListTitle
                | TagEnd::DefinitionListDefinition,
            )
            | Event::HardBreak
            | Event::Rule => out.line_break(),
            Event::SoftBreak | Event::End(TagEnd::TableCell) => out.space(),
            // Emphasis, links and the rest: their text comes as Text.
            _ => {}
        }
    }
    if out.title.is_none() {
        out.title = first_heading;
    }
    out
}

/// Takes `title` and `date` (or `published`) from YAML front matter: one
/// `key: value` per line, the value optionally quoted.
fn read_front_matter(yaml: &str, out: &mut Stripped) {
    for line in yaml.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim().trim_matches(['"', '\'']).trim();
        if value.is_empty() {
            continue;
        }
        match key.trim().to_ascii_lowercase().as_str() {
            "title" if out.title.is_none() => out.title = Some(value.to_string()),
            "date" | "published" if out.date.is_none() => out.date = Some(value.to_string()),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::score::input::Document;
    use crate::segment::segment;

    /// The sentences of `md` and the bytes of the file each maps to.
    fn sentences(md: &str) -> Vec<(String, String)> {
        let s = strip_markdown(md);
        let doc = Document {
            spans: segment(&s.text),
            text: s.text,
            pieces: s.pieces,
            has_offsets: true,
            ..Document::default()
        };
        doc.spans
            .iter()
            .map(|&span| {
                let (a, b) = doc.source_range(span).unwrap();
                (span.text(&doc.text).to_string(), md[a..b].to_string())
            })
            .collect()
    }

    #[test]
    fn markup_is_left_out_and_offsets_point_into_the_file() {
        let cases: [(&str, &[(&str, &str)]); 10] = [
            ("", &[]),
            (
                "# Moscow and Beijing\n",
                &[("Moscow and Beijing", "Moscow and Beijing")],
            ),
            (
                "The **Kremlin** said _no_.",
                &[("The Kremlin said no.", "The **Kremlin** said _no_.")],
            ),
            (
                "See [Reuters](https://reuters.com/x) now.",
                &[(
                    "See Reuters now.",
                    "See [Reuters](https://reuters.com/x) now.",
                )],
            ),
            (
                "- first item\n- second item\n",
                &[("first item", "first item"), ("second item", "second item")],
            ),
            ("> Quoted words.\n", &[("Quoted words.", "Quoted words.")]),
            (
                "Text ![a map](map.png) here.",
                &[("Text here.", "Text ![a map](map.png) here.")],
            ),
            ("```\nlet x = 1;\n```\nAfter.", &[("After.", "After.")]),
            (
                "A line\nwrapped here.",
                &[("A line wrapped here.", "A line\nwrapped here.")],
            ),
            (
                "| a | b |\n|---|---|\n| Россия | Китай |\n",
                &[("a b", "a | b"), ("Россия Китай", "Россия | Китай")],
            ),
        ];
        for (md, want) in cases {
            let got = sentences(md);
            let want: Vec<(String, String)> = want
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect();
            assert_eq!(got, want, "{md:?}");
        }
    }

    #[test]
    fn entities_and_escapes_map_as_a_whole() {
        assert_eq!(
            sentences("Tom &amp; Jerry \\*agree\\*."),
            [(
                "Tom & Jerry *agree*.".to_string(),
                "Tom &amp; Jerry \\*agree\\*.".to_string()
            )]
        );
    }

    #[test]
    fn front_matter_gives_title_and_date_and_is_not_text() {
        let s = strip_markdown("---\ntitle: \"Axis\"\ndate: 2024-11-05\n---\n# Heading\n\nBody.\n");
        assert_eq!(s.title.as_deref(), Some("Axis"));
        assert_eq!(s.date.as_deref(), Some("2024-11-05"));
        assert_eq!(s.text, "Heading\nBody.\n");
        let s = strip_markdown("Intro.\n\n# The *real* title\n\n## Sub\n");
        assert_eq!(s.title.as_deref(), Some("The real title"));
        assert_eq!(s.date, None);
    }
}
