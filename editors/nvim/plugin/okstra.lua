-- Defines :OkstraPreviewBatch, :OkstraReserveBatch and :OkstraGraph (they work with any
-- client of okstra-lsp: require("okstra").setup(), vim.lsp.enable("okstra")
-- or nvim-lspconfig). The server itself is started by setup() or enable().
if vim.g.loaded_okstra then
  return
end
vim.g.loaded_okstra = true
if vim.fn.has("nvim-0.7") ~= 1 then
  return
end
require("okstra").create_commands()
