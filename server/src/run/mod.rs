//! okstra's run batch: which ready stages the next `implementation` run
//! takes (`batch`, pure), the `consumers.jsonl` it reads and appends to
//! (`consumers`, under an exclusive lock), and the one service both outputs
//! run (`service`: preview, reservation, their summary; `error`: why not).

pub mod batch;
pub mod consumers;
pub mod error;
pub mod service;
