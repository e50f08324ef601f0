//! What is wrong with a plan and how to repair it: whole-plan facts
//! (`facts`: depends-on graph, cycles, overlaps), the rules (one file per
//! code) and the fixes. Pure functions of the plan model: no LSP types, no
//! I/O.

pub mod facts;
pub mod fixes;
pub mod rules;
