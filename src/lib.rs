pub mod error;
pub mod features;
pub mod segment;
pub mod tokenize;
