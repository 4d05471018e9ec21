//! Deterministic synthetic capture generator for tests, benchmarks and the bundled captures.
//! Skeleton: to be written.
