//! What people read and look at: the model card and the SVG charts.
//!
//! Has the responsibility to turn a trained model, cross-validated metrics
//! and per-article summaries into Markdown and pictures. It computes
//! nothing the other stages have not: a new picture or page is a file here.

mod card;
pub mod chart;

pub use card::{ablation_markdown, ablation_text, model_card};
