pub mod error;
pub mod features;
pub mod io;
pub mod labels;
pub mod model;
pub mod report;
pub mod segment;
pub mod tokenize;
