-- okstra.nvim: starts `okstra-lsp --stdio` for okstra plan files and adds
-- the run-batch commands. Works on Neovim 0.7.2 (vim.lsp.start_client +
-- vim.lsp.buf_attach_client) and on 0.8+ (vim.lsp.start), including 0.11.
--
--   require("okstra").setup({
--     cmd = { "okstra-lsp", "--stdio" },
--     settings = { cap = 6, runBudget = 8, includeStarted = false },
--     filetypes = { "markdown" },
--     plan_patterns = nil, -- every markdown file; or Lua patterns / a function
--   })
--
-- See :help okstra and editors/nvim/README.md.

local M = {}

local uv = vim.uv or vim.loop

M.name = "okstra"
M.PREVIEW = "okstra.previewRunBatch"
M.RESERVE = "okstra.reserveRunBatch"
M.GRAPH = "okstra.stageGraph"

local defaults = {
  -- The server command; the server speaks LSP over stdio with `--stdio`.
  cmd = { "okstra-lsp", "--stdio" },
  -- Extra environment for the server, e.g. { OKSTRA_LSP_LOG = "debug" }.
  cmd_env = nil,
  -- The `okstra` settings section: cap, runBudget, includeStarted,
  -- labelAliases, severityOverrides, maxDocumentBytes.
  settings = {},
  filetypes = { "markdown" },
  -- nil: every buffer of `filetypes` (the server stays silent on markdown
  -- that is not a plan). A list of Lua patterns matched against the full
  -- path (any match attaches), or function(path, bufnr) -> boolean.
  plan_patterns = nil,
  -- function(path, bufnr) -> root directory; default: the nearest folder
  -- upward holding `.git`, else the one holding a `runs/` folder, else the
  -- file's folder.
  root_dir = nil,
  -- Refresh the Stage Map code lens ("Next run: ...", "Reserve...") on
  -- BufEnter / InsertLeave / BufWritePost.
  codelens = false,
  -- Show the per-row readiness inlay hints (Neovim 0.10+).
  inlay_hints = false,
  -- How diagnostics arrive: false asks the server to push them after every
  -- change (every Neovim version); true asks it for pull only (0.10+ pulls
  -- on open and change). The server never does both for one client, so no
  -- diagnostic shows twice (neovim/neovim#29927).
  pull_diagnostics = false,
  on_init = nil,
  on_attach = nil,
  capabilities = nil,
  handlers = nil,
}

M.config = vim.deepcopy(defaults)

-- 0.7 has no vim.lsp.start; one client per root is kept here.
local clients_by_root = {}
local warned_missing = false

local function has(version)
  return vim.fn.has("nvim-" .. version) == 1
end

local function notify(msg, level)
  vim.notify("okstra: " .. msg, level or vim.log.levels.INFO)
end

-- Lua tables that must reach the server as JSON objects even when empty.
local function as_object(t)
  if t == nil or next(t) == nil then
    return vim.empty_dict()
  end
  return t
end

local function is_stopped(client)
  if has("0.11") then
    return client:is_stopped()
  end
  return client.is_stopped()
end

--- The clients that serve the okstra commands, attached to `bufnr` (or all).
function M.clients(bufnr)
  local list
  if vim.lsp.get_clients then
    list = vim.lsp.get_clients(bufnr and { bufnr = bufnr } or nil)
  elseif bufnr then
    list = vim.tbl_values(vim.lsp.buf_get_clients(bufnr))
  else
    list = vim.tbl_values(vim.lsp.get_active_clients())
  end
  local out = {}
  for _, client in ipairs(list) do
    local provider = client.server_capabilities and client.server_capabilities.executeCommandProvider
    local commands = type(provider) == "table" and provider.commands or {}
    if client.name == M.name or vim.tbl_contains(commands, M.PREVIEW) then
      table.insert(out, client)
    end
  end
  return out
end

--- The okstra client attached to `bufnr` (0: current buffer), or nil.
function M.client(bufnr)
  if bufnr == nil or bufnr == 0 then
    bufnr = vim.api.nvim_get_current_buf()
  end
  return M.clients(bufnr)[1]
end

local function request(client, method, params, handler, bufnr)
  if has("0.11") then
    return client:request(method, params, handler, bufnr)
  end
  return client.request(method, params, handler, bufnr)
end

local function exists(path)
  return uv.fs_stat(path) ~= nil
end

local function is_dir(path)
  local stat = uv.fs_stat(path)
  return stat ~= nil and stat.type == "directory"
end

local function dirname(path)
  local dir = path:match("^(.*)/[^/]*$")
  if dir == nil then
    return "."
  end
  if dir == "" then
    return "/"
  end
  return dir
end

--- The workspace root of a plan file: the nearest folder upward with `.git`;
--- else the nearest holding a `runs/` folder (okstra's run layout
--- `runs/<plan-task-key>/<dir>/plan.md`); else the file's own folder.
function M.find_root(path)
  local start = dirname(path)
  local runs_root
  local dir = start
  while true do
    if exists(dir .. "/.git") then
      return dir
    end
    if runs_root == nil and is_dir(dir .. "/runs") then
      runs_root = dir
    end
    local parent = dirname(dir)
    if parent == dir then
      break
    end
    dir = parent
  end
  return runs_root or start
end

--- Whether a buffer's path is one the server should get.
function M.is_plan_path(path, bufnr)
  local patterns = M.config.plan_patterns
  if patterns == nil then
    return true
  end
  if type(patterns) == "function" then
    return patterns(path, bufnr) and true or false
  end
  if type(patterns) == "string" then
    patterns = { patterns }
  end
  for _, pattern in ipairs(patterns) do
    if path:find(pattern) then
      return true
    end
  end
  return false
end

local function on_attach(client, bufnr)
  if M.config.codelens and vim.lsp.codelens then
    local group = vim.api.nvim_create_augroup("okstra_codelens_" .. bufnr, { clear = true })
    local function refresh()
      if has("0.10") then
        pcall(vim.lsp.codelens.refresh, { bufnr = bufnr })
      elseif vim.api.nvim_get_current_buf() == bufnr then
        pcall(vim.lsp.codelens.refresh)
      end
    end
    vim.api.nvim_create_autocmd({ "BufEnter", "InsertLeave", "BufWritePost" }, {
      group = group,
      buffer = bufnr,
      callback = refresh,
    })
    refresh()
  end
  if M.config.inlay_hints and vim.lsp.inlay_hint and has("0.10") then
    pcall(vim.lsp.inlay_hint.enable, true, { bufnr = bufnr })
  end
  if M.config.on_attach then
    M.config.on_attach(client, bufnr)
  end
end

local function on_init(client, result)
  if M.config.on_init then
    M.config.on_init(client, result)
  end
end

--- The client configuration for one root (what vim.lsp.start receives).
function M.client_config(root)
  local settings = as_object(M.config.settings)
  return {
    name = M.name,
    cmd = M.config.cmd,
    cmd_env = M.config.cmd_env,
    root_dir = root,
    -- The server reads the `okstra` section through workspace/configuration
    -- (and didChangeConfiguration); initializationOptions apply from the
    -- first diagnostics on.
    settings = { okstra = settings },
    init_options = {
      okstra = settings,
      diagnosticMode = M.config.pull_diagnostics and "pull" or "push",
    },
    capabilities = M.config.capabilities,
    handlers = M.config.handlers,
    on_init = on_init,
    on_attach = on_attach,
  }
end

--- Starts (or reuses) the client for the buffer's root and attaches it.
--- Returns the client id, or nil when the buffer is not for the server.
function M.attach(bufnr)
  if bufnr == nil or bufnr == 0 then
    bufnr = vim.api.nvim_get_current_buf()
  end
  if not vim.api.nvim_buf_is_valid(bufnr) or vim.bo[bufnr].buftype ~= "" then
    return nil
  end
  local name = vim.api.nvim_buf_get_name(bufnr)
  if name == "" or name:match("^%a[%w+.-]*://") then
    return nil -- unnamed, or not a file (fugitive://, oil://, ...)
  end
  local path = vim.fn.fnamemodify(name, ":p")
  if not M.is_plan_path(path, bufnr) then
    return nil
  end
  local cmd = M.config.cmd
  if type(cmd) == "table" and vim.fn.executable(cmd[1]) ~= 1 then
    if not warned_missing then
      warned_missing = true
      notify(
        ("%s not found: install it (cargo install --path server) or set cmd in require('okstra').setup()"):format(
          cmd[1]
        ),
        vim.log.levels.WARN
      )
    end
    return nil
  end
  local root = M.config.root_dir and M.config.root_dir(path, bufnr) or M.find_root(path)
  if root == nil then
    return nil
  end
  local config = M.client_config(root)
  if vim.lsp.start then
    return vim.lsp.start(config, { bufnr = bufnr })
  end
  -- Neovim 0.7: start one client per root, attach each buffer to it.
  local id = clients_by_root[root]
  local client = id and vim.lsp.get_client_by_id(id)
  if client == nil or is_stopped(client) then
    id = vim.lsp.start_client(config)
    clients_by_root[root] = id
  end
  if id then
    vim.lsp.buf_attach_client(bufnr, id)
  end
  return id
end

--- The server's summary of a preview or reservation (the text
--- `okstra-lsp batch preview|reserve` prints), then its notes (skipped lines
--- of consumers.jsonl). Rendered by the server, never rebuilt here.
function M.format_batch(result)
  local lines = { result.summary or "(the server sent no summary)" }
  for _, note in ipairs(result.notes or {}) do
    table.insert(lines, note)
  end
  return table.concat(lines, "\n")
end

local function show(err, result)
  if err then
    notify(err.message or vim.inspect(err), vim.log.levels.ERROR)
  elseif type(result) ~= "table" then
    notify("no result", vim.log.levels.WARN)
  else
    notify(M.format_batch(result))
  end
end

-- The buffer a command is for: the given one, or the current one for nil/0.
local function buffer(bufnr)
  if bufnr == nil or bufnr == 0 then
    return vim.api.nvim_get_current_buf()
  end
  return bufnr
end

-- The buffer a command is for and its okstra client; without one, tells
-- `callback` and returns no client.
local function attached(bufnr, callback)
  bufnr = buffer(bufnr)
  local client = M.client(bufnr)
  if client == nil then
    callback({ message = "okstra-lsp is not attached to this buffer" })
  end
  return bufnr, client
end

--- Runs okstra.previewRunBatch / okstra.reserveRunBatch for a buffer.
--- opts: bufnr, stage ("auto" or a number), budget, include_started,
--- impl_key (reserve). callback(err, result); default: vim.notify.
function M.run(command, opts, callback)
  opts = opts or {}
  callback = callback or show
  local bufnr, client = attached(opts.bufnr, callback)
  if client == nil then
    return false
  end
  local arg = { uri = vim.uri_from_bufnr(bufnr) }
  if opts.stage ~= nil and opts.stage ~= "" then
    arg.stage = tonumber(opts.stage) or opts.stage
  end
  if opts.budget ~= nil then
    arg.budget = tonumber(opts.budget)
  end
  if opts.include_started ~= nil then
    arg.includeStarted = opts.include_started
  end
  if opts.impl_key ~= nil then
    arg.implTaskKey = opts.impl_key
  end
  request(client, "workspace/executeCommand", { command = command, arguments = { arg } }, function(err, result)
    callback(err, result)
  end, bufnr)
  return true
end

function M.preview_batch(opts, callback)
  return M.run(M.PREVIEW, opts, callback)
end

--- Reserves the next batch. okstra reads the plan from disk, so a buffer
--- with unsaved changes is refused unless opts.force.
function M.reserve_batch(opts, callback)
  opts = opts or {}
  callback = callback or show
  local bufnr = buffer(opts.bufnr)
  if opts.impl_key == nil or vim.trim(opts.impl_key) == "" then
    callback({ message = "reserving needs an impl task key: :OkstraReserveBatch {impl_key} [stage]" })
    return false
  end
  if vim.bo[bufnr].modified and not opts.force then
    callback({ message = "the plan has unsaved changes: write it first (okstra reads the file), or use :OkstraReserveBatch!" })
    return false
  end
  opts.bufnr = bufnr
  return M.run(M.RESERVE, opts, callback)
end

--- The stage graph of a buffer's plan, from the server (so it follows
--- unsaved edits). opts.format "svg" (default): the SVG is written next to
--- the plan (<plan>.graph.svg; a temporary file when that cannot be written)
--- and opened with the system viewer (vim.ui.open, Neovim 0.10+), else the
--- path is shown. opts.format "mermaid": the mermaid text in a scratch
--- buffer. callback(err, {path = ...} or {bufnr = ...}).
function M.graph(opts, callback)
  opts = opts or {}
  -- Neovim 0.7 gives a command without its optional argument "".
  local format = (opts.format == nil or opts.format == "") and "svg" or opts.format
  callback = callback or function(err)
    if err then
      notify(err.message or vim.inspect(err), vim.log.levels.ERROR)
    end
  end
  if format ~= "svg" and format ~= "mermaid" then
    callback({ message = "unknown graph format " .. format .. ": :OkstraGraph [svg|mermaid]" })
    return false
  end
  local bufnr, client = attached(opts.bufnr, callback)
  if client == nil then
    return false
  end
  local arg = { uri = vim.uri_from_bufnr(bufnr) }
  request(client, "workspace/executeCommand", { command = M.GRAPH, arguments = { arg } }, function(err, result)
    if err then
      callback(err)
      return
    end
    if type(result) ~= "table" then
      callback({ message = "the server sent no graph" })
      return
    end
    if format == "mermaid" then
      vim.cmd("botright new")
      local scratch = vim.api.nvim_get_current_buf()
      vim.bo[scratch].buftype = "nofile"
      vim.bo[scratch].bufhidden = "wipe"
      vim.bo[scratch].swapfile = false
      vim.api.nvim_buf_set_lines(scratch, 0, -1, false, vim.split(result.mermaid or "", "\n", { plain = true }))
      vim.bo[scratch].filetype = "mermaid"
      callback(nil, { bufnr = scratch })
      return
    end
    local lines = vim.split(result.svg or "", "\n", { plain = true })
    local name = vim.api.nvim_buf_get_name(bufnr)
    local path = name ~= "" and (name:gsub("%.[^./]*$", "") .. ".graph.svg") or nil
    if path == nil or not pcall(vim.fn.writefile, lines, path, "b") or vim.fn.filereadable(path) ~= 1 then
      path = vim.fn.tempname() .. ".svg"
      vim.fn.writefile(lines, path, "b")
    end
    local opened = false
    if vim.ui.open then
      local ok, handle = pcall(vim.ui.open, path)
      opened = ok and handle ~= nil
    end
    notify((opened and "stage graph opened: " or "stage graph written to ") .. path)
    callback(nil, { path = path })
  end, bufnr)
  return true
end

--- :OkstraPreviewBatch [stage] and :OkstraReserveBatch[!] {impl_key} [stage].
function M.create_commands()
  vim.api.nvim_create_user_command("OkstraPreviewBatch", function(c)
    M.preview_batch({ stage = c.fargs[1] })
  end, { nargs = "?", desc = "okstra: preview the next run batch of this plan" })
  vim.api.nvim_create_user_command("OkstraReserveBatch", function(c)
    M.reserve_batch({ impl_key = c.fargs[1], stage = c.fargs[2], force = c.bang })
  end, { nargs = "+", bang = true, desc = "okstra: reserve the next run batch for {impl_key}" })
  vim.api.nvim_create_user_command("OkstraGraph", function(c)
    M.graph({ format = c.fargs[1] })
  end, {
    nargs = "?",
    complete = function()
      return { "svg", "mermaid" }
    end,
    desc = "okstra: the stage graph as SVG (opened) or mermaid (scratch buffer)",
  })
  -- The Stage Map code lens runs the server's commands: show their results
  -- (and ask for the impl task key) instead of sending them blindly.
  if vim.lsp.commands then
    vim.lsp.commands[M.PREVIEW] = function(command, ctx)
      local arg = (command.arguments or {})[1] or {}
      M.preview_batch({ bufnr = ctx.bufnr, stage = arg.stage })
    end
    vim.lsp.commands[M.RESERVE] = function(_, ctx)
      vim.ui.input({ prompt = "okstra impl task key: " }, function(key)
        if key and vim.trim(key) ~= "" then
          M.reserve_batch({ bufnr = ctx.bufnr, impl_key = key })
        end
      end)
    end
  end
end

--- Configures the plugin and attaches to matching buffers (already open
--- ones too). Calling it again replaces the configuration for new clients.
function M.setup(opts)
  M.config = vim.tbl_deep_extend("force", vim.deepcopy(defaults), opts or {})
  -- Lists are replaced, not merged.
  if opts and opts.cmd then
    M.config.cmd = opts.cmd
  end
  if opts and opts.filetypes then
    M.config.filetypes = opts.filetypes
  end
  if opts and opts.plan_patterns ~= nil then
    M.config.plan_patterns = opts.plan_patterns
  end
  warned_missing = false
  M.create_commands()
  local group = vim.api.nvim_create_augroup("okstra", { clear = true })
  vim.api.nvim_create_autocmd("FileType", {
    group = group,
    pattern = M.config.filetypes,
    callback = function(args)
      M.attach(args.buf)
    end,
  })
  for _, bufnr in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(bufnr) and vim.tbl_contains(M.config.filetypes, vim.bo[bufnr].filetype) then
      M.attach(bufnr)
    end
  end
end

return M
