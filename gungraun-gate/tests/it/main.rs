//! The gate's integration tests: end to end on crates nobody here wrote.

mod glam;
