//! An open document kept analysed edit by edit (`document`), and the plan
//! generator that benchmarks, property tests and the latency harness use.

pub mod document;
pub mod generate;
