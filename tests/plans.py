"""Plan texts the end-to-end tests open (kept here, not in fixtures/, so the
tests do not move when the fixtures do)."""


def stage(
    n: int, title: str, steps: list[tuple[str, str]], files: str, label: str = "Predicted added/modified files"
) -> str:
    rows = "".join(f"| {i} | {action} | `{f}` | `cargo test` | passes |\n" for i, (action, f) in enumerate(steps, 1))
    return (
        f"### 4.5.{n} Stage {n} — {title}\n\n"
        "#### Stepwise Execution Order\n"
        "| step | action | files | command | expected |\n"
        "|---|---|---|---|---|\n"
        f"{rows}\n"
        "#### Stage Exit Contract\n"
        f"- {label}: {files}\n\n"
        "#### Stage Validation\n"
        f"- post: `cargo test` passes for stage {n}\n\n"
    )


# The README's example, in short: an S9 overlap (stages 1 and 2 both predict
# src/lib.rs), a wrong step count (stage 2), an orphan C-2.
PLAN = (
    "# Implementation plan: rate limiter\n\n"
    "## 4.5 Stage Map\n\n"
    "| Stage | Title | depends-on | Steps |\n"
    "|---|---|---|---|\n"
    "| 1 | Token bucket core | (none) | 3 |\n"
    "| 2 | Redis backend | (none) | 3 |\n"
    "| 3 | HTTP middleware | 1, 2 | 2 |\n"
    "| 4 | Docs and rollout | 3 | 1 |\n\n"
    + stage(
        1,
        "Token bucket core",
        [("failing test", "tests/bucket.rs"), ("bucket", "src/bucket.rs"), ("export", "src/lib.rs")],
        "`src/bucket.rs`, `src/lib.rs`, `tests/bucket.rs`",
    )
    + stage(
        2,
        "Redis backend",
        [("failing test", "tests/redis.rs"), ("backend", "src/redis.rs")],
        "`src/redis.rs`, `src/lib.rs`, `tests/redis.rs`",
    )
    + stage(
        3,
        "HTTP middleware",
        [("middleware", "src/http.rs"), ("wire it", "src/main.rs")],
        "`src/http.rs`, `src/main.rs`",
    )
    + stage(4, "Docs and rollout", [("document", "docs/limits.md")], "`docs/`")
    + "### 4.5.9 Plan Body Verification\n"
    "| Plan item | claude | codex | Classification |\n"
    "|---|---|---|---|\n"
    "| Stage 2 needs Redis in CI | AGREE | DISAGREE | majority-disagree → C-1 |\n"
    "| Bucket refill rate | AGREE | DISAGREE | majority-disagree → C-2 |\n"
    "| Stage 4 scope | AGREE | AGREE | full-consensus |\n\n"
    "## 5. Clarification Items\n"
    "| ID | Kind | Statement | Expected form | Blocks |\n"
    "|---|---|---|---|---|\n"
    "| C-1 | decision | Is Redis available in CI? Evidence checked: `.github/workflows/ci.yml:12` "
    "| yes/no. Recommended: yes — the workflow starts one | approval |\n"
)

# Only an S9 overlap: stages 1 and 2 are roots and both predict src/lib.rs.
S9_PLAN = (
    "# Plan: S9 only\n\n"
    "## 4.5 Stage Map\n\n"
    "| Stage | Title | depends-on | Steps |\n"
    "|---|---|---|---|\n"
    "| 1 | Core | (none) | 2 |\n"
    "| 2 | Backend | (none) | 2 |\n"
    "| 3 | Wire | 1, 2 | 1 |\n\n"
    + stage(1, "Core", [("test", "tests/core.rs"), ("core", "src/lib.rs")], "`src/lib.rs`, `tests/core.rs`")
    + stage(2, "Backend", [("test", "tests/backend.rs"), ("backend", "src/lib.rs")], "`src/lib.rs`, `tests/backend.rs`")
    + stage(3, "Wire", [("wire", "src/main.rs")], "`src/main.rs`")
)

# The same hazard in Korean, with emoji (astral characters: two UTF-16 units)
# before the ranges the diagnostics and edits point at.
KO_PLAN = (
    "# 구현 계획: 속도 제한기 🚦\n\n"
    "## 4.5 Stage Map\n\n"
    "| Stage | Title | depends-on | Steps |\n"
    "|---|---|---|---|\n"
    "| 1 | 토큰 버킷 🪣 | (none) | 2 |\n"
    "| 2 | 레디스 백엔드 🧱 | (none) | 2 |\n\n"
    + stage(
        1,
        "토큰 버킷 🪣",
        [("실패하는 테스트 ✍️", "tests/버킷.rs"), ("구현 🛠️", "src/공통.rs")],
        "🪣 `src/공통.rs`, `tests/버킷.rs`",
        label="추가/변경된 파일 (예측)",
    )
    + stage(
        2,
        "레디스 백엔드 🧱",
        [("테스트 🧪", "tests/레디스.rs"), ("백엔드", "src/공통.rs")],
        "🧱 `src/공통.rs`, `tests/레디스.rs`",
        label="추가/변경된 파일 (예측)",
    )
)


def crlf(text: str) -> str:
    return text.replace("\n", "\r\n")


NOT_A_PLAN = "# Notes\n\nJust a markdown file, no Stage Map here.\n"
