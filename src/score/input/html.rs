//! A saved web page → the article's main text, title, canonical URL and
//! publication date.
//!
//! Has the responsibility to keep what a reader reads as the article and
//! leave out the page around it. The page is parsed as a browser would
//! (html5ever, through `scraper`), and the main content is found by one
//! rule:
//!
//! 1. the `<article>` element with the most paragraph text of its own
//!    (text in `<p>` elements inside it but not inside a nested
//!    `<article>`, such as a related-story teaser);
//! 2. else the `<main>` element (or `role="main"`) with the most paragraph
//!    text;
//! 3. else the element whose own `<p>` children hold the most text;
//! 4. else `<body>`.
//!
//! Inside it, these are left out with everything in them: `script`,
//! `style`, `noscript`, `template`, `nav`, `aside`, `footer`, `form`,
//! buttons and form fields, `iframe`, `svg`, media, `figure` (pictures and
//! their captions), `dialog`; a `header` that is not inside an `<article>`
//! (a site header; an article's own header, with its headline, stays);
//! nested `<article>`s; elements that are hidden (`hidden`,
//! `aria-hidden="true"`) or whose role is navigation, banner, contentinfo,
//! complementary, dialog, alertdialog or search; and elements whose class
//! or id names page furniture — cookie and consent banners, newsletter and
//! subscription boxes, share and social buttons, related and recommended
//! links, bylines and author boxes, adverts and promotions, comments,
//! breadcrumbs, sidebars, pop-ups, paywalls (see [`is_furniture`]).
//!
//! The text keeps the page's blocks as lines: every heading, paragraph,
//! list item, quote, table row and `<br>` ends a line; within a line, runs
//! of white space are one space. Entities are decoded. Since tags are
//! dropped and entities decoded, the text is not a stretch of the file, and
//! sentences of a page have no byte offsets.
//!
//! A page saved in another encoding than UTF-8 says so in a `<meta>` tag of
//! its first kilobyte (`<meta charset="windows-1252">`, or `charset=` in a
//! `Content-Type` `http-equiv`), as browsers find it; [`declared_encoding`]
//! reads it, and the page is decoded from it.

use encoding_rs::Encoding;
use scraper::node::Element;
use scraper::{ElementRef, Html, Node};

use crate::swar;

/// Bytes at the start of a page searched for a `<meta>` charset, as a
/// browser's pre-scan searches them.
const PRESCAN_BYTES: usize = 1024;

/// The encoding a page's `<meta>` tags declare in its first
/// [`PRESCAN_BYTES`], other than UTF-8 (`None` for UTF-8 or no
/// declaration a browser knows). A declared UTF-16 is read as UTF-8
/// and `x-user-defined` as windows-1252, as browsers do: a page that
/// declares them in ASCII cannot be either.
pub fn declared_encoding(bytes: &[u8]) -> Option<&'static Encoding> {
    let head = bytes[..bytes.len().min(PRESCAN_BYTES)].to_ascii_lowercase();
    let mut rest = &head[..];
    while let Some(at) = memchr::memmem::find(rest, b"<meta") {
        let tag = &rest[at + 5..];
        let tag = &tag[..memchr::memchr(b'>', tag).unwrap_or(tag.len())];
        rest = &rest[at + 5..];
        let Some(k) = memchr::memmem::find(tag, b"charset") else {
            continue;
        };
        let after = tag[k + 7..].trim_ascii_start();
        let Some(value) = after.strip_prefix(b"=") else {
            continue;
        };
        let value = value.trim_ascii_start();
        let value = value
            .strip_prefix(b"\"")
            .or_else(|| value.strip_prefix(b"'"))
            .unwrap_or(value);
        let end = value
            .iter()
            .position(|b| !(b.is_ascii_alphanumeric() || b"-_.:".contains(b)))
            .unwrap_or(value.len());
        // A label no browser knows is passed over, as a browser does.
        let Some(encoding) = Encoding::for_label(&value[..end]) else {
            continue;
        };
        return if encoding == encoding_rs::UTF_8
            || encoding == encoding_rs::UTF_16LE
            || encoding == encoding_rs::UTF_16BE
            || encoding == encoding_rs::REPLACEMENT
        {
            None
        } else if encoding == encoding_rs::X_USER_DEFINED {
            Some(encoding_rs::WINDOWS_1252)
        } else {
            Some(encoding)
        };
    }
    None
}

/// What a web page gives: the article's text and what identifies it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Page {
    /// The main text, one block per line.
    pub text: String,
    /// `og:title`, else `<title>`, else the main content's first `<h1>`;
    /// white space collapsed.
    pub title: Option<String>,
    /// `<link rel="canonical">`, else `og:url`: an absolute `http(s)` URL.
    pub canonical: Option<String>,
    /// The publication date as the page writes it, from the first of:
    /// `article:published_time`, `itemprop="datePublished"`, JSON-LD
    /// `datePublished`, a `date`/`pubdate`/`publish-date`/`dc.date`/
    /// `dcterms.date` meta tag, the main content's first
    /// `<time datetime>`.
    pub date: Option<String>,
}

/// Elements left out with everything in them, wherever they are.
const DROPPED: [&str; 27] = [
    "script", "style", "noscript", "template", "nav", "aside", "footer", "form", "button", "input",
    "select", "textarea", "label", "iframe", "object", "embed", "svg", "canvas", "figure",
    "picture", "video", "audio", "map", "dialog", "menu", "head", "title",
];

/// Elements that end a line before and after them.
const BLOCKS: [&str; 31] = [
    "p",
    "div",
    "section",
    "article",
    "main",
    "header",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "ul",
    "ol",
    "li",
    "dl",
    "dt",
    "dd",
    "blockquote",
    "pre",
    "table",
    "thead",
    "tbody",
    "tfoot",
    "tr",
    "caption",
    "hr",
    "address",
    "details",
    "summary",
    "center",
];

/// Roles of page furniture.
const FURNITURE_ROLES: [&str; 7] = [
    "navigation",
    "banner",
    "contentinfo",
    "complementary",
    "dialog",
    "alertdialog",
    "search",
];

/// Words in a class or id that always mean page furniture.
const FURNITURE_ALWAYS: [&str; 14] = [
    "cookie",
    "consent",
    "gdpr",
    "newsletter",
    "subscribe",
    "signup",
    "related",
    "recommend",
    "byline",
    "advert",
    "promo",
    "paywall",
    "breadcrumb",
    "skip-link",
];

/// Words in a class or id that mean page furniture unless the same class
/// or id also says content (`comment-body` is furniture, `article-body`
/// is not).
const FURNITURE_UNLESS_CONTENT: [&str; 12] = [
    "comment",
    "share",
    "social",
    "sidebar",
    "popup",
    "modal",
    "sponsor",
    "author",
    "more-stories",
    "outbrain",
    "taboola",
    "toolbar",
];

/// Whole class or id tokens that mean page furniture (`ad`, not `head`).
const FURNITURE_TOKENS: [&str; 7] = ["ad", "ads", "nav", "menu", "tags", "masthead", "banner"];

/// Words that mark content in a class or id.
const CONTENT_WORDS: [&str; 6] = ["article", "body", "content", "main", "story", "text"];

/// Whether a class or id (`names`, white-space separated) names page
/// furniture (see the module docs).
pub fn is_furniture(names: &str) -> bool {
    names.split_whitespace().any(|name| {
        // Most class names are lowercase already: no copy for them.
        let name: std::borrow::Cow<'_, str> = if name.bytes().any(|b| b.is_ascii_uppercase()) {
            name.to_ascii_lowercase().into()
        } else {
            name.into()
        };
        let parts = || name.split(['-', '_']);
        FURNITURE_ALWAYS.iter().any(|w| name.contains(w))
            || (FURNITURE_UNLESS_CONTENT.iter().any(|w| name.contains(w))
                && !CONTENT_WORDS.iter().any(|w| name.contains(w)))
            || parts().any(|p| FURNITURE_TOKENS.contains(&p))
    })
}

/// The value of `e`'s attribute `name`, as [`Element::attr`] gives it
/// (an attribute without a namespace), without making `name` an atom
/// first: `attr` hashes it into html5ever's table of names on every call,
/// and this is asked of every element of the page, several times over,
/// while its main content is found.
fn attr<'a>(e: &'a Element, name: &str) -> Option<&'a str> {
    e.attrs
        .iter()
        .find(|(q, _)| q.prefix.is_none() && q.ns.is_empty() && &*q.local == name)
        .map(|(_, v)| &**v)
}

/// Whether `el` is left out with everything in it.
fn is_dropped(el: ElementRef<'_>) -> bool {
    let e = el.value();
    let name = e.name();
    if DROPPED.contains(&name) {
        return true;
    }
    if name == "header"
        && !el
            .ancestors()
            .filter_map(ElementRef::wrap)
            .any(|a| a.value().name() == "article")
    {
        return true;
    }
    if attr(e, "hidden").is_some()
        || attr(e, "aria-hidden").is_some_and(|v| v.eq_ignore_ascii_case("true"))
        || attr(e, "role")
            .is_some_and(|r| FURNITURE_ROLES.contains(&r.to_ascii_lowercase().as_str()))
    {
        return true;
    }
    attr(e, "class").is_some_and(is_furniture) || attr(e, "id").is_some_and(is_furniture)
}

/// Bytes of text in `<p>` elements inside `el`, not counting what is in
/// dropped elements or in nested `<article>`s.
fn paragraph_text(el: ElementRef<'_>) -> usize {
    fn walk(el: ElementRef<'_>, in_p: bool, total: &mut usize) {
        for child in el.children() {
            match child.value() {
                Node::Text(t) if in_p => *total += t.trim().len(),
                Node::Element(_) => {
                    if let Some(c) = ElementRef::wrap(child) {
                        let name = c.value().name();
                        if name != "article" && !is_dropped(c) {
                            walk(c, in_p || name == "p", total);
                        }
                    }
                }
                _ => {}
            }
        }
    }
    let mut total = 0;
    walk(el, false, &mut total);
    total
}

/// Bytes of text in the `<p>` children of `el`.
fn own_paragraph_text(el: ElementRef<'_>) -> usize {
    el.child_elements()
        .filter(|c| c.value().name() == "p" && !is_dropped(*c))
        .map(paragraph_text_of_p)
        .sum()
}

fn paragraph_text_of_p(p: ElementRef<'_>) -> usize {
    p.text().map(|t| t.trim().len()).sum()
}

/// The elements of `root`'s tree (`root` among them), in document order,
/// that are not dropped and have no dropped ancestor below `root`'s own:
/// each is judged once, and a dropped element's descendants not at all.
/// Asking every element whether it or any ancestor is dropped, once for
/// each of the rules of [`main_content`], judged each element once per
/// ancestor per rule: on a page of 1,900 elements nested 25 deep, that
/// was most of its time.
fn kept_elements(root: ElementRef<'_>) -> Vec<ElementRef<'_>> {
    let mut kept = Vec::new();
    let mut stack = vec![root];
    while let Some(el) = stack.pop() {
        if is_dropped(el) {
            continue;
        }
        kept.push(el);
        // The last child first on the stack, so the first comes off next.
        stack.extend(el.children().rev().filter_map(ElementRef::wrap));
    }
    kept
}

/// The element with the largest score above 0; ties keep the first.
fn best<'a>(candidates: Vec<(usize, ElementRef<'a>)>) -> Option<ElementRef<'a>> {
    candidates
        .into_iter()
        .filter(|(n, _)| *n > 0)
        .fold(
            None,
            |best: Option<(usize, ElementRef<'a>)>, c| match best {
                Some(b) if b.0 >= c.0 => Some(b),
                _ => Some(c),
            },
        )
        .map(|(_, e)| e)
}

/// The element holding the article's main text (see the module docs).
fn main_content(doc: &Html) -> ElementRef<'_> {
    let kept = kept_elements(doc.root_element());
    let elements = || kept.iter().copied();
    let articles = elements()
        .filter(|e| e.value().name() == "article")
        .map(|e| (paragraph_text(e), e))
        .collect();
    if let Some(e) = best(articles) {
        return e;
    }
    let mains = elements()
        .filter(|e| e.value().name() == "main" || attr(e.value(), "role") == Some("main"))
        .map(|e| (paragraph_text(e), e))
        .collect();
    if let Some(e) = best(mains) {
        return e;
    }
    let parents = elements().map(|e| (own_paragraph_text(e), e)).collect();
    if let Some(e) = best(parents) {
        return e;
    }
    elements()
        .find(|e| e.value().name() == "body")
        .unwrap_or_else(|| doc.root_element())
}

/// Builds the text of `root`: blocks as lines, white space collapsed.
struct TextBuilder {
    text: String,
    /// A space is due before the next word on this line.
    space: bool,
}

impl TextBuilder {
    fn line_break(&mut self) {
        self.space = false;
        if !self.text.is_empty() && !self.text.ends_with('\n') {
            self.text.push('\n');
        }
    }

    /// Adds `text`, each run of white space (as [`char::is_whitespace`]
    /// has it) one space. Words a single space apart are copied as one
    /// run, found eight bytes at a time (see [`run_end`]). The news corpus
    /// as saved pages with site furniture, ten times over, scored with one
    /// thread: copied a character at a time, it took 40 ± 8 ms of 601
    /// longer; a word at a time, 31 ± 11 ms of 614 longer; with the run
    /// found a byte at a time, 74 ± 4 ms of 635 longer (a branch per byte,
    /// mispredicted at the end of every word).
    fn push(&mut self, text: &str) {
        let mut i = 0;
        while i < text.len() {
            let (white, len) = white_at(text, i);
            if white {
                self.space = true;
                i += len;
                continue;
            }
            let start = i;
            i = run_end(text, i);
            if self.space && !self.text.is_empty() && !self.text.ends_with('\n') {
                self.text.push(' ');
            }
            self.space = false;
            self.text.push_str(&text[start..i]);
        }
    }

    /// Adds the text inside `el`, leaving out nested `<article>`s.
    fn walk(&mut self, el: ElementRef<'_>) {
        for child in el.children() {
            match child.value() {
                Node::Text(t) => self.push(t),
                Node::Element(e) => {
                    let Some(c) = ElementRef::wrap(child) else {
                        continue;
                    };
                    let name = e.name();
                    if is_dropped(c) || name == "article" {
                        continue;
                    }
                    if name == "br" {
                        self.line_break();
                        continue;
                    }
                    let block = BLOCKS.contains(&name);
                    if block {
                        self.line_break();
                    } else if matches!(name, "td" | "th") {
                        self.space = true;
                    }
                    self.walk(c);
                    if block {
                        self.line_break();
                    }
                }
                _ => {}
            }
        }
    }
}

/// Where the run of words and single spaces that starts at byte `i` of
/// `text` (a character that is not white space) ends: at the first white
/// space that is not one space before a character that is not, or at the
/// end.
///
/// Eight bytes at a time while nine can be read (the ninth says what
/// follows a space in the eighth): [`stops`] marks the bytes that may end
/// the run, and those are decided a character at a time, as is the last
/// bit of the text.
fn run_end(text: &str, mut i: usize) -> usize {
    let bytes = text.as_bytes();
    loop {
        while let Some(nine) = bytes.get(i..i + 9) {
            let eight = |from: usize| {
                u64::from_le_bytes(nine[from..from + 8].try_into().expect("eight bytes"))
            };
            let stops = stops(eight(0), eight(1));
            if stops != 0 {
                i += (stops.trailing_zeros() / 8) as usize;
                break;
            }
            i += 8;
        }
        if i >= text.len() {
            return text.len();
        }
        let (white, len) = white_at(text, i);
        if white {
            let single = i + 1 < text.len() && bytes[i] == b' ' && !white_at(text, i + 1).0;
            if !single {
                return i;
            }
        }
        i += len;
    }
}

/// The top bit of each byte of `x` (eight bytes of text, the first in the
/// low byte) that may end a run of words and single spaces: ASCII white
/// space but a space, a space before white space or before a non-ASCII
/// byte (`y` is the eight bytes from the second on), and a non-ASCII
/// byte. No branch per byte: bytes are compared eight at a time
/// ([`swar`]).
#[inline]
fn stops(x: u64, y: u64) -> u64 {
    use swar::{in_range, HIGH};
    let space = |v: u64| in_range(v, b' ', b' ' + 1);
    // Tab, line feed, vertical tab, form feed, carriage return.
    let control = |v: u64| in_range(v, b'\t', b'\r' + 1);
    let next_white_or_high = space(y) | control(y) | (y & HIGH);
    control(x) | (space(x) & next_white_or_high) | (x & HIGH)
}

/// Whether the character at byte `i` of `text` (a character boundary) is
/// white space ([`char::is_whitespace`]), and its length in bytes.
#[inline]
fn white_at(text: &str, i: usize) -> (bool, usize) {
    let b = text.as_bytes()[i];
    if b.is_ascii() {
        // Tab, line feed, vertical tab, form feed, carriage return, space.
        (b == b' ' || (b'\t'..=b'\r').contains(&b), 1)
    } else {
        let c = text[i..].chars().next().unwrap_or('\0');
        (c.is_whitespace(), c.len_utf8())
    }
}

/// Collapses white space runs to one space and trims.
fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A `<meta>` tag's `content` whose `property`, `name` or `itemprop` is one
/// of `keys` (ASCII case ignored), in document order.
fn meta_content<'a>(doc: &'a Html, keys: &[&str]) -> Option<&'a str> {
    doc.root_element()
        .descendent_elements()
        .filter(|e| e.value().name() == "meta")
        .find(|e| {
            ["property", "name", "itemprop"].iter().any(|a| {
                attr(e.value(), a)
                    .is_some_and(|v| keys.iter().any(|k| v.trim().eq_ignore_ascii_case(k)))
            })
        })
        .and_then(|e| attr(e.value(), "content"))
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// The first `datePublished` string anywhere in the page's JSON-LD blocks.
fn json_ld_date(doc: &Html) -> Option<String> {
    fn find(v: &serde_json::Value) -> Option<String> {
        match v {
            serde_json::Value::Object(map) => map
                .get("datePublished")
                .and_then(|d| d.as_str())
                .map(String::from)
                .or_else(|| map.values().find_map(find)),
            serde_json::Value::Array(items) => items.iter().find_map(find),
            _ => None,
        }
    }
    doc.root_element()
        .descendent_elements()
        .filter(|e| {
            e.value().name() == "script"
                && attr(e.value(), "type")
                    .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/ld+json"))
        })
        .find_map(|e| {
            let json: String = e.text().collect();
            serde_json::from_str::<serde_json::Value>(&json)
                .ok()
                .and_then(|v| find(&v))
        })
}

/// Reads a web page (see the module docs).
pub fn extract_page(html: &str) -> Page {
    let doc = Html::parse_document(html);
    let root = main_content(&doc);
    let mut builder = TextBuilder {
        text: String::new(),
        space: false,
    };
    builder.walk(root);
    builder.line_break();
    let first = |name: &str| {
        doc.root_element()
            .descendent_elements()
            .find(|e| e.value().name() == name)
    };
    let title = meta_content(&doc, &["og:title"])
        .map(collapse)
        .or_else(|| first("title").map(|t| collapse(&t.text().collect::<String>())))
        .filter(|t| !t.is_empty())
        .or_else(|| {
            root.descendent_elements()
                .find(|e| e.value().name() == "h1")
                .map(|h| collapse(&h.text().collect::<String>()))
        })
        .filter(|t| !t.is_empty());
    let absolute = |url: &str| {
        let url = url.trim();
        (url.starts_with("https://") || url.starts_with("http://")).then(|| url.to_string())
    };
    let canonical = doc
        .root_element()
        .descendent_elements()
        .filter(|e| e.value().name() == "link")
        .find(|e| {
            attr(e.value(), "rel").is_some_and(|r| {
                r.split_whitespace()
                    .any(|r| r.eq_ignore_ascii_case("canonical"))
            })
        })
        .and_then(|e| attr(e.value(), "href"))
        .and_then(absolute)
        .or_else(|| meta_content(&doc, &["og:url"]).and_then(absolute));
    let date = meta_content(&doc, &["article:published_time", "datePublished"])
        .map(String::from)
        .or_else(|| {
            doc.root_element()
                .descendent_elements()
                .find(|e| attr(e.value(), "itemprop") == Some("datePublished"))
                .and_then(|e| attr(e.value(), "datetime").or(attr(e.value(), "content")))
                .map(String::from)
        })
        .or_else(|| json_ld_date(&doc))
        .or_else(|| {
            meta_content(
                &doc,
                &[
                    "date",
                    "pubdate",
                    "publishdate",
                    "publish-date",
                    "dc.date",
                    "dc.date.issued",
                    "dcterms.date",
                    "dcterms.created",
                ],
            )
            .map(String::from)
        })
        .or_else(|| {
            root.descendent_elements()
                .chain(doc.root_element().descendent_elements())
                .filter(|e| e.value().name() == "time")
                .find_map(|e| attr(e.value(), "datetime"))
                .map(String::from)
        })
        .map(|d| d.trim().to_string())
        .filter(|d| !d.is_empty());
    Page {
        text: builder.text,
        title,
        canonical,
        date,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The elements kept are those that neither are dropped nor have a
    /// dropped ancestor, each asked of every element as the rule says.
    #[test]
    fn kept_elements_are_those_neither_dropped_nor_inside_a_dropped_one() {
        let inside_dropped = |el: ElementRef<'_>| {
            el.ancestors()
                .filter_map(ElementRef::wrap)
                .any(|a| is_dropped(a))
        };
        let pages = [
            "",
            "<p>Only text.</p>",
            r#"<html><body><header><h1>Site</h1><nav><a>Home</a></nav></header>
            <div class="Wrapper"><div class="cookie-Banner"><p>Cookies.</p><div><p>deep</p></div></div>
            <main><article><header><h1>Headline</h1></header><p>Body.</p>
            <aside><p>Aside.</p></aside><div hidden><p>Hidden.</p></div>
            <div aria-hidden="true"><span>x</span></div><div role="Navigation"><p>n</p></div>
            <article><p>Teaser.</p></article><p>More.</p></article></main>
            <section id="related-stories"><ul><li><a>One</a></li></ul></section>
            <footer><p>Footer.</p><div><footer>inner</footer></div></footer>
            <svg><g><text>t</text></g></svg><template><p>t</p></template>
            <div class="article-body"><p>Kept.</p><div class="ad"><p>Ad.</p></div></div>
            </div></body></html>"#,
        ];
        for page in pages {
            let doc = Html::parse_document(page);
            let root = doc.root_element();
            let want: Vec<_> = root
                .descendent_elements()
                .filter(|e| !is_dropped(*e) && !inside_dropped(*e))
                .map(|e| e.id())
                .collect();
            let got: Vec<_> = kept_elements(root).iter().map(|e| e.id()).collect();
            assert_eq!(got, want, "{page}");
        }
    }

    #[test]
    fn attributes_are_read_as_scraper_reads_them() {
        let page = Html::parse_document(
            r#"<html><head><meta property="og:title" content="T"><link rel=canonical href="/a">
            </head><body><div class="Nav x" id=main role=navigation hidden aria-hidden=TRUE>
            <p itemprop=datePublished datetime="2024" CONTENT=c>x</p></div>
            <svg><a xlink:href="/svg" href="/plain" xml:lang=en><title role=img>t</title></a></svg>
            <math><mi xlink:type=simple>x</mi></math></body></html>"#,
        );
        let names = [
            "property",
            "content",
            "rel",
            "href",
            "class",
            "id",
            "role",
            "hidden",
            "aria-hidden",
            "itemprop",
            "datetime",
            "type",
            "lang",
            "name",
        ];
        let mut found = 0;
        for e in page.root_element().descendent_elements() {
            for name in names {
                assert_eq!(
                    attr(e.value(), name),
                    e.value().attr(name),
                    "{name} of {e:?}"
                );
                found += usize::from(attr(e.value(), name).is_some());
            }
        }
        assert_eq!(found, 14);
    }

    #[test]
    fn stops_mark_exactly_the_bytes_that_may_end_a_run() {
        let ascii_white = |b: u8| b == b' ' || (b'\t'..=b'\r').contains(&b);
        for k in 0..8 {
            for b in 0..=255u8 {
                for next in 0..=255u8 {
                    // Letters around the pair, which stop nothing.
                    let mut text = [b'a'; 9];
                    text[k] = b;
                    text[k + 1] = next;
                    let word =
                        |from: usize| u64::from_le_bytes(text[from..from + 8].try_into().unwrap());
                    let want = (ascii_white(b) && b != b' ')
                        || (b == b' ' && (ascii_white(next) || next >= 0x80))
                        || b >= 0x80;
                    let mut want_bits = u64::from(want) << (8 * k + 7);
                    // The next byte is a stop of its own when it is in the
                    // first eight and not followed by a space.
                    if k < 7 && ((ascii_white(next) && next != b' ') || next >= 0x80) {
                        want_bits |= 0x80 << (8 * (k + 1));
                    }
                    assert_eq!(
                        stops(word(0), word(1)),
                        want_bits,
                        "{b:#04x} {next:#04x} at {k}"
                    );
                }
            }
        }
    }

    proptest! {
        /// Text pushed in pieces is the text pushed a character at a time
        /// by the rule itself: white space runs, Unicode's included, one
        /// space; none at the start of a line.
        #[test]
        fn pushed_text_collapses_white_space_as_each_character_says(
            pieces in proptest::collection::vec(
                proptest::collection::vec(
                    // Mostly letters and spaces, so that runs of words span
                    // several eight-byte steps of `run_end`.
                    prop_oneof![
                        8 => proptest::char::range('a', 'z'),
                        4 => Just(' '),
                        1 => Just('\t'),
                        1 => Just('\n'),
                        1 => Just('\r'),
                        1 => Just('\u{0B}'),
                        1 => Just('\u{0C}'),
                        1 => Just('\u{1C}'),
                        1 => Just('\u{7F}'),
                        1 => Just('\u{85}'),
                        1 => Just('\u{A0}'),
                        1 => Just('\u{A9}'),
                        1 => Just('\u{1680}'),
                        1 => Just('\u{2009}'),
                        1 => Just('\u{2014}'),
                        1 => Just('\u{201C}'),
                        1 => Just('\u{2028}'),
                        1 => Just('\u{202F}'),
                        1 => Just('\u{205F}'),
                        1 => Just('\u{3000}'),
                        1 => Just('Я'),
                        1 => Just('\u{1F600}'),
                        2 => any::<char>(),
                    ],
                    0..40,
                ),
                0..5,
            ),
            breaks in proptest::collection::vec(any::<bool>(), 5),
        ) {
            let mut got = TextBuilder { text: String::new(), space: false };
            let mut want = (String::new(), false);
            for (piece, line_break) in pieces.iter().zip(&breaks) {
                let piece: String = piece.iter().collect();
                got.push(&piece);
                for c in piece.chars() {
                    if c.is_whitespace() {
                        want.1 = true;
                    } else {
                        if want.1 && !want.0.is_empty() && !want.0.ends_with('\n') {
                            want.0.push(' ');
                        }
                        want.1 = false;
                        want.0.push(c);
                    }
                }
                if *line_break {
                    got.line_break();
                    want.1 = false;
                    if !want.0.is_empty() && !want.0.ends_with('\n') {
                        want.0.push('\n');
                    }
                }
                prop_assert_eq!(&got.text, &want.0);
                prop_assert_eq!(got.space, want.1);
            }
        }
    }

    #[test]
    fn a_declared_encoding_is_found_as_a_browser_finds_it() {
        let label = |head: &str| declared_encoding(head.as_bytes()).map(|e| e.name());
        let cases = [
            ("<meta charset=\"windows-1252\">", Some("windows-1252")),
            ("<META CHARSET='ISO-8859-1'>", Some("windows-1252")),
            ("<meta charset=koi8-r>", Some("KOI8-R")),
            (
                "<meta http-equiv=\"Content-Type\" content=\"text/html; charset=windows-1251\">",
                Some("windows-1251"),
            ),
            (
                "<meta name=\"x\" content=\"y\"><meta charset = gbk>",
                Some("GBK"),
            ),
            ("<meta charset=\"x-user-defined\">", Some("windows-1252")),
            // UTF-8, UTF-16 (read as UTF-8 when declared in ASCII), labels
            // no browser knows, no declaration, a `charset` outside a meta.
            ("<meta charset=\"utf-8\">", None),
            ("<meta charset=\"UTF-16LE\">", None),
            ("<meta charset=\"klingon\">", None),
            (
                "<meta charset=klingon><meta charset=koi8-u>",
                Some("KOI8-U"),
            ),
            ("<title>charset=windows-1252</title>", None),
            ("", None),
        ];
        for (head, want) in cases {
            assert_eq!(label(head), want, "{head}");
        }
        // Only the first kilobyte is searched.
        let late = format!("{}<meta charset=windows-1252>", " ".repeat(PRESCAN_BYTES));
        assert_eq!(label(&late), None);
    }

    #[test]
    fn main_content_rule_table() {
        let cases = [
            // No markup at all, and an empty page.
            ("Just text.", "Just text.\n"),
            ("", ""),
            // <article> wins over the page around it.
            (
                "<nav>Home News</nav><article><h1>Head</h1><p>One &amp; two.</p></article><footer>(c)</footer>",
                "Head\nOne & two.\n",
            ),
            // Of several articles, the one with most paragraph text of its
            // own; teasers nested in it are left out.
            (
                "<article><p>Teaser.</p></article><article><p>The long story text.</p><article><p>Teaser two.</p></article></article>",
                "The long story text.\n",
            ),
            // A wrapper article whose text is all in a nested one: the
            // nested one.
            (
                "<article><div><article><p>Inner story.</p></article></div></article>",
                "Inner story.\n",
            ),
            // <main> when there is no article.
            (
                "<header>Site</header><main><h2>Title</h2><p>Body text.</p></main><aside><p>Other long text in the aside.</p></aside>",
                "Title\nBody text.\n",
            ),
            // Else the element whose paragraphs hold the most text.
            (
                "<div class=x><p>Short.</p></div><div id=y><p>First paragraph.</p><p>Second one.</p></div>",
                "First paragraph.\nSecond one.\n",
            ),
            // Inline elements join, blocks and <br> break, spaces collapse.
            (
                "<article><p>A <b>bold</b>\n   claim<br>next line</p><ul><li>one</li><li>two</li></ul></article>",
                "A bold claim\nnext line\none\ntwo\n",
            ),
            // Furniture by class, id, role and hidden, inside the article.
            (
                "<article><div class=\"byline\">By Ann</div><p>Text.</p><div id=cookie-banner><p>We use cookies.</p></div><div role=dialog>Hi</div><p hidden>Gone.</p><div class=\"related-links\"><p>More.</p></div><div class=\"article-body\"><p>Kept.</p></div></article>",
                "Text.\nKept.\n",
            ),
            // Table cells are words on one line.
            (
                "<article><p>Intro.</p><table><tr><td>Russia</td><td>Китай</td></tr></table></article>",
                "Intro.\nRussia Китай\n",
            ),
        ];
        for (html, want) in cases {
            assert_eq!(extract_page(html).text, want, "{html}");
        }
    }

    #[test]
    fn furniture_names() {
        for (names, want) in [
            ("cookie-banner", true),
            ("site-nav", true),
            ("ad", true),
            ("ad-slot", true),
            ("header", false),
            ("comments", true),
            ("comment-body", false),
            ("article-body", false),
            ("story byline", true),
            ("leading", false),
            ("", false),
        ] {
            assert_eq!(is_furniture(names), want, "{names}");
        }
    }

    #[test]
    fn metadata_title_canonical_and_date() {
        let page = extract_page(
            r#"<html><head><title>Axis | Site</title>
            <meta property="og:title" content=" The  Axis ">
            <link rel="canonical" href="https://example.org/axis">
            <meta property="article:published_time" content="2024-11-05T08:00:00Z">
            </head><body><p>Text.</p></body></html>"#,
        );
        assert_eq!(page.title.as_deref(), Some("The Axis"));
        assert_eq!(page.canonical.as_deref(), Some("https://example.org/axis"));
        assert_eq!(page.date.as_deref(), Some("2024-11-05T08:00:00Z"));
        // Fallbacks: <title>, og:url, JSON-LD, and nothing relative.
        let page = extract_page(
            r#"<head><title>Plain</title><link rel=canonical href="/axis">
            <script type="application/ld+json">{"@graph":[{"@type":"NewsArticle","datePublished":"2023-03-21"}]}</script>
            </head><p>Text.</p>"#,
        );
        assert_eq!(page.title.as_deref(), Some("Plain"));
        assert_eq!(page.canonical, None);
        assert_eq!(page.date.as_deref(), Some("2023-03-21"));
        let page = extract_page(
            r#"<meta name="DATE" content="5 May 2022"><meta property="og:url" content="http://x.org/a"><article><h1>Headline</h1><time datetime="2020-01-01">then</time><p>T.</p></article>"#,
        );
        assert_eq!(page.title.as_deref(), Some("Headline"));
        assert_eq!(page.canonical.as_deref(), Some("http://x.org/a"));
        assert_eq!(page.date.as_deref(), Some("5 May 2022"));
        let page =
            extract_page(r#"<article><p>T.</p><time datetime=" 2020-01-02 ">x</time></article>"#);
        assert_eq!(page.date.as_deref(), Some("2020-01-02"));
    }
}
