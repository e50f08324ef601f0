//! okstra's run batch: which ready stages the next `implementation` run
//! takes (`batch`, pure) and the `consumers.jsonl` it reads and appends to
//! (`consumers`, under an exclusive lock).

pub mod batch;
pub mod consumers;
