//! Writers over `impl Write`: the summary (table, JSON, CSV) and per-packet annotations (text,
//! NDJSON, CSV). They take finished data and never compute counts of their own.

pub mod annotate;
pub mod flows;
pub mod live;
pub mod merge;
pub mod parquet;
pub mod summary;
pub mod units;
