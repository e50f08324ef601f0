-- Neovim 0.11+: the configuration `vim.lsp.enable("okstra")` uses (merged
-- with anything given to `vim.lsp.config("okstra", {...})`). The root is the
-- nearest folder upward holding `.git` or okstra's `runs/` folder.
return {
  cmd = { "okstra-lsp", "--stdio" },
  filetypes = { "markdown" },
  root_markers = { ".git", "runs" },
  settings = { okstra = vim.empty_dict() },
  -- The server picks one channel per client (pull for a client that can
  -- pull, as 0.11 can), so no diagnostic shows twice; "push" asks for
  -- versioned pushes after every change instead.
  init_options = { diagnosticMode = "push" },
}
