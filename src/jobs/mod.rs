//! Scheduled work (retention runs arrive with the retention engine).
