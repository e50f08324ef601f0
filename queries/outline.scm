; The blocks okstra-lsp reads from the tree-sitter-md block tree, in document order.
; Everything else (fenced code, HTML blocks) is never plan content.
; Matches inside block quotes are dropped in code (syntax::outline), because a
; quoted heading or table is an example, not part of the plan.
(atx_heading) @heading
(setext_heading) @heading
(pipe_table) @table
; Rows the parser's error recovery left outside their table (empty cells such
; as `||` can do that): the outline attaches them to the preceding table.
(ERROR (pipe_table_row) @orphan_row)
(list) @list
; Top-level paragraphs (a predicted-files line may be one); those inside list
; items, quotes and setext headings are dropped in code.
(paragraph) @paragraph
; Block quotes are captured only so that what they contain can be skipped.
(block_quote) @quote
