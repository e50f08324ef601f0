/** A plan with three stages: 1 (3 steps), 2 (2 steps, depends on 1), 3 (1 step). */
export const PLAN = `# Implementation plan: parser hardening

## 4.5 Stage Map

| Stage | Title | depends-on | Steps |
|---|---|---|---|
| 1 | Fix parser | (none) | 3 |
| 2 | Wire API | 1 | 2 |
| 3 | Docs | (none) | 1 |

### 4.5.1 Stage 1 — Fix parser

#### Stepwise Execution Order
| step | action | files | command | expected |
|---|---|---|---|---|
| 1 | failing test | \`tests/p.rs\` | \`cargo test p\` | fails |
| 2 | fix the parser | \`src/p.rs\` | \`cargo test p\` | passes |
| 3 | refactor | \`src/p.rs\` | \`cargo clippy\` | clean |

### 4.5.2 Stage 2 — Wire API

#### Stepwise Execution Order
| step | action | files | command | expected |
|---|---|---|---|---|
| 1 | route | \`src/api.rs\` | \`cargo test api\` | fails |
| 2 | handler | \`src/api.rs\` | \`cargo test api\` | passes |

### 4.5.3 Stage 3 — Docs

#### Stepwise Execution Order
| step | action | files | command | expected |
|---|---|---|---|---|
| 1 | write docs | \`docs/\` | \`mdbook build\` | builds |
`;
