-- Neovim 0.11+: the configuration `vim.lsp.enable("okstra")` uses (merged
-- with anything given to `vim.lsp.config("okstra", {...})`). The root is the
-- nearest folder upward holding `.git` or okstra's `runs/` folder.
return {
  cmd = { "okstra-lsp", "--stdio" },
  filetypes = { "markdown" },
  root_markers = { ".git", "runs" },
  settings = { okstra = vim.empty_dict() },
  on_init = function(client)
    -- okstra-lsp pushes versioned diagnostics after every change; Neovim
    -- would also pull them and show each one twice (neovim/neovim#29927).
    client.server_capabilities.diagnosticProvider = nil
  end,
}
