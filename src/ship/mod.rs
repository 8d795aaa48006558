//! Shipping LCR files from a spool to destinations.

pub mod state;
