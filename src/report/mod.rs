//! Writers for tables, JSON, NDJSON and CSV over `impl Write`.
