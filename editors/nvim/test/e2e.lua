-- Headless end-to-end test of the okstra Neovim plugin against the real
-- server. Runs on Neovim 0.7.2 and 0.11.x:
--
--   OKSTRA_LSP_BIN=... OKSTRA_NVIM_PLUGIN=editors/nvim [OKSTRA_E2E_MODE=config] \
--     nvim --headless --clean -u NONE -i NONE -n -c "luafile editors/nvim/test/e2e.lua"
--
-- OKSTRA_E2E_MODE=setup (default) starts the server with require("okstra").setup;
-- =config (Neovim 0.11+) with vim.lsp.config/vim.lsp.enable and lsp/okstra.lua.
--
-- Exits 0 when every check passes, else prints the first mismatch and exits 1
-- (`cquit 1`). Every wait has its own timeout; run.sh adds an overall one.

local bin = os.getenv("OKSTRA_LSP_BIN")
local plugin = os.getenv("OKSTRA_NVIM_PLUGIN")
local version = vim.version and vim.version() or { major = 0, minor = 0, patch = 0 }
-- "setup": require("okstra").setup{...}; "config": vim.lsp.config + enable (0.11+).
local mode = os.getenv("OKSTRA_E2E_MODE") or "setup"
local tag = ("nvim %d.%d.%d, %s"):format(version.major, version.minor, version.patch, mode)

local function log(msg)
  io.stdout:write(("[%s] %s\n"):format(tag, msg))
  io.stdout:flush()
end

local function fail(msg)
  error({ okstra_failure = msg }, 2)
end

local function check(cond, msg, ...)
  if not cond then
    fail(msg:format(...))
  end
end

local function eq(actual, expected, what)
  if not vim.deep_equal(actual, expected) then
    fail(("%s: expected %s, got %s"):format(what, vim.inspect(expected), vim.inspect(actual)))
  end
end

-- `what` may be a function, called on timeout to describe the state then.
local function wait(ms, cond, what)
  if not vim.wait(ms, cond, 20) then
    if type(what) == "function" then
      what = what()
    end
    fail(("timed out after %d ms waiting for %s"):format(ms, what))
  end
end

-- The README's example plan: stage 2's Stage Map cell says 3 steps (its
-- table has 2), stages 1 and 2 are parallel and both predict src/lib.rs,
-- C-2 has no §5 row; with cap = 2, stage 1's 3 steps are over the cap.
local PLAN = [==[
# Implementation plan: rate limiter for the public API

## 4.5 Stage Map

| Stage | Title | depends-on | Steps |
|---|---|---|---|
| 1 | Token bucket core | (none) | 3 |
| 2 | Redis backend | (none) | 3 |
| 3 | HTTP middleware | 1, 2 | 2 |
| 4 | Docs and rollout | 3 | 1 |

### 4.5.1 Stage 1 — Token bucket core

#### Stepwise Execution Order
| step | action | files | command | expected |
|---|---|---|---|---|
| 1 | failing test for refill | `tests/bucket.rs` | `cargo test bucket` | fails |
| 2 | implement the bucket | `src/bucket.rs` | `cargo test bucket` | passes |
| 3 | export it | `src/lib.rs` | `cargo doc` | builds |

#### Stage Exit Contract
- Predicted added/modified files: `src/bucket.rs`, `src/lib.rs`, `tests/bucket.rs`
- Newly exposed identifiers: `TokenBucket`

#### Stage Validation
- pre: `cargo test` green
- post: `cargo test bucket` passes

### 4.5.2 Stage 2 — Redis backend

#### Stepwise Execution Order
| step | action | files | command | expected |
|---|---|---|---|---|
| 1 | failing test | `tests/redis.rs` | `cargo test redis` | fails |
| 2 | backend | `src/redis.rs` | `cargo test redis` | passes |

#### Stage Exit Contract
- Predicted added/modified files: `src/redis.rs`, `src/lib.rs`, `tests/redis.rs`

#### Stage Validation
- post: `cargo test redis` passes

### 4.5.3 Stage 3 — HTTP middleware

#### Stepwise Execution Order
| step | action | files | command | expected |
|---|---|---|---|---|
| 1 | middleware | `src/http.rs` | `cargo test http` | passes |
| 2 | wire it | `src/main.rs` | `cargo run` | 429 after the limit |

#### Stage Exit Contract
- Predicted added/modified files: `src/http.rs`, `src/main.rs`

#### Stage Validation
- post: `cargo test http` passes

### 4.5.4 Stage 4 — Docs and rollout

#### Stepwise Execution Order
| step | action | files | command | expected |
|---|---|---|---|---|
| 1 | document limits | `docs/limits.md` | `mdbook build` | builds |

#### Stage Exit Contract
- Predicted added/modified files: `docs/`

#### Stage Validation
- post: `mdbook build` passes

### 4.5.9 Plan Body Verification
| Plan item | claude | codex | Classification |
|---|---|---|---|
| Stage 2 needs Redis in CI | AGREE | DISAGREE | majority-disagree → C-1 |
| Bucket refill rate | AGREE | DISAGREE | majority-disagree → C-2 |
| Stage 4 scope | AGREE | AGREE | full-consensus |

## 5. Clarification Items
| ID | Kind | Statement | Expected form | Blocks |
|---|---|---|---|---|
| C-1 | decision | Is a Redis service available in CI? Evidence checked: `.github/workflows/ci.yml:12` | yes/no. Recommended: yes — the workflow already starts one | approval |
]==]

local function write_file(path, text)
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
end

local function read_file(path)
  local f = io.open(path, "rb")
  if not f then
    return nil
  end
  local text = f:read("*a")
  f:close()
  return text
end

local function code_of(d)
  if d.code ~= nil then
    return d.code
  end
  return d.user_data and d.user_data.lsp and d.user_data.lsp.code
end

local function codes(bufnr)
  local set, all = {}, {}
  for _, d in ipairs(vim.diagnostic.get(bufnr)) do
    local code = code_of(d)
    set[code] = true
    table.insert(all, code)
  end
  local sorted = vim.tbl_keys(set)
  table.sort(sorted)
  table.sort(all)
  return sorted, all
end

local function find_diagnostic(bufnr, code)
  for _, d in ipairs(vim.diagnostic.get(bufnr)) do
    if code_of(d) == code then
      return d
    end
  end
end

local function request(client, method, params, handler, bufnr)
  if vim.fn.has("nvim-0.11") == 1 then
    return client:request(method, params, handler, bufnr)
  end
  return client.request(method, params, handler, bufnr)
end

local function main()
  check(bin and bin ~= "", "OKSTRA_LSP_BIN is not set")
  check(vim.fn.executable(bin) == 1, "OKSTRA_LSP_BIN=%s is not executable", bin)
  check(plugin and plugin ~= "", "OKSTRA_NVIM_PLUGIN is not set")
  vim.opt.runtimepath:prepend(plugin)
  vim.cmd("filetype on")

  -- okstra's run layout in a temp folder: runs/<plan-task-key>/<dir>/plan.md,
  -- so the reservation writes runs/demo-plan/consumers.jsonl there.
  local root = vim.fn.resolve(vim.fn.tempname())
  local plan_dir = root .. "/runs/demo-plan/planning"
  vim.fn.mkdir(plan_dir, "p")
  _G.okstra_test_root = root
  local plan_path = plan_dir .. "/plan.md"
  local consumers_path = root .. "/runs/demo-plan/consumers.jsonl"
  write_file(plan_path, PLAN)
  write_file(root .. "/notes.md", "# Notes\n\nNot a plan: no Stage Map here.\n")

  local okstra = require("okstra")
  if mode == "setup" then
    okstra.setup({
      cmd = { bin, "--stdio" },
      cmd_env = { OKSTRA_LSP_LOG = "warn" },
      settings = { cap = 2, runBudget = 3 },
      filetypes = { "markdown" },
      codelens = true,
    })
  else
    -- Neovim 0.11+ without setup(): the plugin's lsp/okstra.lua and
    -- plugin/okstra.lua, configured as docs/editors.md shows.
    check(vim.lsp.config ~= nil, "vim.lsp.config needs Neovim 0.11+")
    vim.cmd("runtime plugin/okstra.lua")
    local settings = { cap = 2, runBudget = 3 }
    vim.lsp.config("okstra", {
      cmd = { bin, "--stdio" },
      cmd_env = { OKSTRA_LSP_LOG = "warn" },
      settings = { okstra = settings },
      init_options = { okstra = settings },
    })
    vim.lsp.enable("okstra")
  end
  check(vim.fn.exists(":OkstraPreviewBatch") == 2, ":OkstraPreviewBatch is not defined")
  check(vim.fn.exists(":OkstraReserveBatch") == 2, ":OkstraReserveBatch is not defined")
  eq(okstra.find_root(plan_path), root, "find_root")

  -- 1. Diagnostics from the real server, settings applied (cap = 2).
  vim.cmd("edit " .. vim.fn.fnameescape(plan_path))
  local buf = vim.api.nvim_get_current_buf()
  eq(vim.bo[buf].filetype, "markdown", "filetype of the plan")
  wait(10000, function()
    return okstra.client(buf) ~= nil
  end, "the okstra client to attach")
  local client = okstra.client(buf)
  eq(client.config.root_dir, root, "the client's root_dir")
  local expected = { "clarification-orphan-ref", "s9-file-overlap", "step-count-mismatch", "steps-over-cap" }
  wait(20000, function()
    return vim.deep_equal((codes(buf)), expected)
  end, function()
    return "diagnostics " .. table.concat(expected, ", ") .. " (have " .. vim.inspect((codes(buf))) .. ")"
  end)
  -- Held a moment: a late publication (or a pull report) must not add or
  -- duplicate anything.
  vim.wait(500)
  local set, all = codes(buf)
  eq(set, expected, "diagnostic codes")
  eq(#all, #expected, "number of diagnostics (one per finding, no duplicates)")
  for _, d in ipairs(vim.diagnostic.get(buf)) do
    eq(d.severity, vim.diagnostic.severity.ERROR, "severity of " .. code_of(d))
    eq(d.source, "okstra", "source of " .. code_of(d))
  end
  -- Columns come back as bytes whatever encoding was negotiated (the C-2
  -- line has a multi-byte arrow before the reference).
  local orphan = find_diagnostic(buf, "clarification-orphan-ref")
  local orphan_line = vim.api.nvim_buf_get_lines(buf, orphan.lnum, orphan.lnum + 1, true)[1]
  eq(orphan.col, (orphan_line:find("C-2", 1, true)) - 1, "byte column of the C-2 diagnostic")
  log(("diagnostics ok: %s (offset encoding %s)"):format(table.concat(expected, ", "), client.offset_encoding))

  if mode == "setup" then
    -- codelens = true: the Stage Map lenses, refreshed on attach.
    local function titles()
      local out = {}
      for _, lens in ipairs(vim.lsp.codelens.get(buf) or {}) do
        table.insert(out, lens.command and lens.command.title or "?")
      end
      table.sort(out)
      return out
    end
    wait(10000, function()
      return #titles() == 2
    end, function()
      return "the Stage Map code lenses (have " .. vim.inspect(titles()) .. ")"
    end)
    eq(titles(), { "Next run: stage 1 — 3/3 steps", "Reserve…" }, "code lens titles")
    log("code lens ok: " .. titles()[1])
  end

  -- 2. A code action at step-count-mismatch, applied.
  local mismatch = find_diagnostic(buf, "step-count-mismatch")
  local range = {
    start = { line = mismatch.lnum, character = mismatch.col },
    ["end"] = { line = mismatch.end_lnum or mismatch.lnum, character = mismatch.end_col or mismatch.col },
  }
  local lsp_diagnostic = {
    range = range,
    severity = 1,
    code = "step-count-mismatch",
    source = "okstra",
    message = mismatch.message,
  }
  local responses = vim.lsp.buf_request_sync(buf, "textDocument/codeAction", {
    textDocument = { uri = vim.uri_from_bufnr(buf) },
    range = range,
    context = { diagnostics = { lsp_diagnostic }, only = { "quickfix" } },
  }, 10000)
  check(responses ~= nil, "textDocument/codeAction timed out")
  local actions = {}
  for _, response in pairs(responses) do
    check(response.err == nil and response.error == nil, "codeAction error: %s", vim.inspect(response))
    for _, action in ipairs(response.result or {}) do
      table.insert(actions, action)
    end
  end
  local chosen
  for _, action in ipairs(actions) do
    if action.title == "Set stage 2's step count to 2" then
      chosen = action
    end
  end
  check(chosen ~= nil, "no code action \"Set stage 2's step count to 2\"; got %s", vim.inspect(vim.tbl_map(function(a)
    return a.title
  end, actions)))
  eq(chosen.kind, "quickfix", "the action's kind")
  check(chosen.edit ~= nil, "the action has no edit")
  vim.lsp.util.apply_workspace_edit(chosen.edit, client.offset_encoding)
  eq(vim.api.nvim_buf_get_lines(buf, mismatch.lnum, mismatch.lnum + 1, true)[1], "| 2 | Redis backend | (none) | 2 |", "the fixed Stage Map row")
  local after = { "clarification-orphan-ref", "s9-file-overlap", "steps-over-cap" }
  wait(20000, function()
    return vim.deep_equal((codes(buf)), after)
  end, function()
    return "step-count-mismatch to disappear (have " .. vim.inspect((codes(buf))) .. ")"
  end)
  log("code action ok: " .. chosen.title)

  -- 3. :OkstraPreviewBatch, shown through vim.notify (runBudget = 3: stage 1
  -- alone takes 3 steps, stage 2 would exceed the budget).
  local messages = {}
  local real_notify = vim.notify
  vim.notify = function(msg, level)
    table.insert(messages, { msg = msg, level = level or vim.log.levels.INFO })
  end
  local function run(cmd)
    local n = #messages
    vim.cmd(cmd)
    wait(10000, function()
      return #messages > n
    end, "the result of :" .. cmd)
    return messages[#messages]
  end

  local m = run("OkstraPreviewBatch")
  eq(m.level, vim.log.levels.INFO, "level of the preview message (" .. m.msg .. ")")
  check(m.msg:find("okstra: Next run: stage 1 — 3/3 steps", 1, true) == 1, "preview message: %s", m.msg)
  check(m.msg:find("blocked: 3 (waiting on 1, 2), 4 (waiting on 3)", 1, true), "preview message: %s", m.msg)

  local preview
  okstra.preview_batch({ bufnr = buf }, function(err, result)
    preview = { err = err, result = result }
  end)
  wait(10000, function()
    return preview ~= nil
  end, "preview_batch")
  check(preview.err == nil, "preview_batch error: %s", vim.inspect(preview.err))
  local r = preview.result
  eq(r.stages, { 1 }, "preview stages")
  eq(r.totalSteps, 3, "preview totalSteps")
  eq(r.budget, 3, "preview budget (runBudget setting)")
  eq(r.ready, { 1, 2 }, "preview ready")
  eq(r.blocked, { { stage = 3, waitingOn = { 1, 2 } }, { stage = 4, waitingOn = { 3 } } }, "preview blocked")
  eq(vim.fn.resolve(r.consumersPath), consumers_path, "preview consumersPath")
  check(read_file(consumers_path) == nil, "preview wrote %s", consumers_path)

  eq(r.summary, table.concat({
    "Next run: stage 1 — 3/3 steps",
    "ready:   1, 2",
    "done:    (none)",
    "started: (none)",
    "blocked: 3 (waiting on 1, 2), 4 (waiting on 3)",
  }, "\n"), "preview summary (rendered by the server)")
  eq(m.msg, "okstra: " .. r.summary, "the preview message is the server's summary")

  m = run("OkstraPreviewBatch 9")
  eq(m.level, vim.log.levels.ERROR, "level of a refused preview")
  check(m.msg:find("--stage 9 not in Stage Map", 1, true), "refused preview message: %s", m.msg)
  local refused
  okstra.preview_batch({ bufnr = buf, stage = 9 }, function(err)
    refused = err
  end)
  wait(10000, function()
    return refused ~= nil
  end, "preview_batch of stage 9")
  eq(refused.data, { kind = "stage-not-found" }, "the error kind in data")
  log("preview ok: " .. vim.split(messages[1].msg, "\n")[1])

  -- 4. :OkstraReserveBatch: refused while the fix is unsaved, then reserved.
  m = run("OkstraReserveBatch impl-e2e")
  eq(m.level, vim.log.levels.ERROR, "level of a reserve with unsaved changes")
  check(m.msg:find("unsaved changes", 1, true), "unsaved reserve message: %s", m.msg)
  check(read_file(consumers_path) == nil, "a refused reserve wrote %s", consumers_path)
  vim.cmd("silent write")
  m = run("OkstraReserveBatch impl-e2e")
  eq(m.level, vim.log.levels.INFO, "level of the reserve message (" .. m.msg .. ")")
  check(m.msg:find("\nreserved in /", 1, true), "reserve message: %s", m.msg)
  check(vim.endswith(m.msg, "/runs/demo-plan/consumers.jsonl"), "reserve message: %s", m.msg)
  local rows = {}
  for line in (read_file(consumers_path) or ""):gmatch("[^\n]+") do
    table.insert(rows, vim.fn.json_decode(line))
  end
  eq(#rows, 1, "rows appended to consumers.jsonl")
  eq({ rows[1].impl_task_key, rows[1].stage, rows[1].status }, { "impl-e2e", 1, "started" }, "the started row")
  m = run("OkstraPreviewBatch")
  check(m.msg:find("Next run: stage 2 — 2/3 steps", 1, true), "preview after reserving: %s", m.msg)
  check(m.msg:find("started: 1 (by impl-e2e)", 1, true), "preview after reserving: %s", m.msg)
  log("reserve ok: stage 1 for impl-e2e, next is stage 2")

  -- 5. vim.lsp.buf.rename on stage 3's heading number: prepareRename, then
  -- one edit that follows it into the Stage Map and depends-on cells.
  -- (Stage 1 has a started row now: it is not the one renamed.)
  vim.api.nvim_set_current_buf(buf)
  local lines = vim.api.nvim_buf_get_lines(buf, 0, -1, true)
  local heading
  for i, l in ipairs(lines) do
    if l:sub(1, 1) == "#" and l:find("Stage 3 — ", 1, true) then
      heading = i
    end
  end
  check(heading ~= nil, "no stage 3 heading")
  vim.api.nvim_win_set_cursor(0, { heading, (lines[heading]:find("Stage 3", 1, true)) + 5 })
  vim.lsp.buf.rename("7")
  wait(10000, function()
    return vim.api.nvim_buf_get_lines(buf, heading - 1, heading, true)[1] == "### 4.5.7 Stage 7 — HTTP middleware"
  end, function()
    return "the renamed heading (have " .. vim.api.nvim_buf_get_lines(buf, heading - 1, heading, true)[1] .. ")"
  end)
  local text = table.concat(vim.api.nvim_buf_get_lines(buf, 0, -1, true), "\n")
  check(text:find("| 7 | HTTP middleware | 1, 2 | 2 |", 1, true), "the Stage Map row was not renamed")
  check(text:find("| 4 | Docs and rollout | 7 | 1 |", 1, true), "the depends-on cell was not renamed")
  check(not text:find("Stage 3", 1, true), "a Stage 3 is left")
  log("rename ok: stage 3 is stage 7 everywhere")

  -- 6. :OkstraGraph: the SVG of the buffer as it is (stage 7, not yet
  -- written) next to the plan, opened with vim.ui.open where Neovim has it
  -- (replaced here: no viewer in CI); :OkstraGraph mermaid in a scratch buffer.
  local opened
  local real_open = vim.ui.open
  local has_open = vim.fn.has("nvim-0.10") == 1
  if has_open then
    vim.ui.open = function(p)
      opened = p
      return {}
    end
  end
  local svg_path = plan_path:gsub("%.md$", "") .. ".graph.svg"
  m = run("OkstraGraph")
  vim.ui.open = real_open
  if has_open then
    eq(m.msg, "okstra: stage graph opened: " .. svg_path, "the :OkstraGraph message")
    eq(opened, svg_path, "the file vim.ui.open got")
  else
    eq(m.msg, "okstra: stage graph written to " .. svg_path, "the :OkstraGraph message")
  end
  local svg = read_file(svg_path) or ""
  check(svg:find("<svg", 1, true) == 1, "%s is not an SVG: %s", svg_path, svg:sub(1, 80))
  check(svg:find('data-stage="7"', 1, true), "the graph has no stage 7 (the unsaved rename)")
  vim.fn.delete(svg_path)
  vim.cmd("OkstraGraph mermaid")
  wait(10000, function()
    return vim.bo.filetype == "mermaid"
  end, "the mermaid scratch buffer")
  local chart = table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, true), "\n")
  check(chart:find("flowchart", 1, true), "the scratch buffer has no flowchart: %s", chart:sub(1, 200))
  eq(vim.bo.buftype, "nofile", "the scratch buffer's buftype")
  vim.cmd("close")
  log("graph ok: svg written and opened, mermaid in a scratch buffer")
  vim.notify = real_notify

  -- 7. Markdown that is not a plan: same client (one per root), no diagnostics.
  vim.cmd("edit " .. vim.fn.fnameescape(root .. "/notes.md"))
  local notes = vim.api.nvim_get_current_buf()
  wait(10000, function()
    return okstra.client(notes) ~= nil
  end, "the client to attach to notes.md")
  eq(okstra.client(notes).id, client.id, "client of notes.md (one client per root)")
  eq(#okstra.clients(), 1, "number of okstra clients")
  vim.wait(1000)
  eq(#vim.diagnostic.get(notes), 0, "diagnostics on notes.md")
  log("non-plan markdown ok: silent, client reused")
end

local ok, err = xpcall(main, function(e)
  if type(e) == "table" and e.okstra_failure then
    return e.okstra_failure
  end
  return debug.traceback(tostring(e), 2)
end)

-- Stop the server before leaving.
for _, c in ipairs(vim.lsp.get_clients and vim.lsp.get_clients() or vim.lsp.get_active_clients()) do
  if vim.fn.has("nvim-0.11") == 1 then
    c:stop()
  else
    c.stop()
  end
end
vim.wait(3000, function()
  return #(vim.lsp.get_clients and vim.lsp.get_clients() or vim.lsp.get_active_clients()) == 0
end, 50)
if _G.okstra_test_root then
  vim.fn.delete(_G.okstra_test_root, "rf")
end

if ok then
  log("PASS")
  vim.cmd("qall!")
else
  io.stderr:write(("[%s] FAIL: %s\n"):format(tag, err))
  io.stderr:flush()
  vim.cmd("cquit 1")
end
