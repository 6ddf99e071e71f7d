//! Integration tests of globalrt's public API, one module per area.

mod contexts;
