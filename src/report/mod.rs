//! What people read and look at: the model card, the SVG charts and the
//! HTML report.
//!
//! Has the responsibility to turn a trained model, cross-validated metrics
//! and scored batches into Markdown, pictures and a page. It computes
//! nothing the other stages have not, beyond the stance measure and the
//! periods of the trend: a new picture or page is a file here.
//!
//! | part | file | from → to |
//! |---|---|---|
//! | batch | `batch.rs` | scored documents or a predictions file → [`Batch`]; the [`StanceMeasure`] |
//! | trend | `trend.rs` | dated articles → label counts per week or month ([`Trend`]) |
//! | charts | `chart.rs` | per-article summaries, metrics → SVG |
//! | page | `page.rs` | [`Batch`] → the self-contained HTML report |
//! | card | `card.rs` | model → Markdown model card |

mod batch;
mod card;
pub mod chart;
mod page;
mod trend;

pub use batch::{Article, Batch, Sentence, StanceMeasure, LOW_CONFIDENCE};
pub use card::{ablation_markdown, ablation_text, model_card, model_summary, offtopic_text};
pub use page::{label_class, report_page};
pub use trend::{Day, Granularity, Period, Trend};
