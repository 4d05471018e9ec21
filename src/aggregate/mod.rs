//! Per-service counters over flows.
