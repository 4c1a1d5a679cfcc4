-- Drives `portcullis server` from Neovim's built-in LSP client (0.7 or later), headless:
--   PORTCULLIS=/path/to/portcullis ROOT=/a/copy/of/fixtures/axum-shop \
--     nvim --headless -u NONE -c "luafile tests/editor/neovim.lua"
-- (what tests/editor_neovim.rs runs).
-- Exits 0 when every step passed, 1 with the failed step on stderr otherwise.

local bin, root = os.getenv("PORTCULLIS"), os.getenv("ROOT")

local function fail(msg)
  io.stderr:write("neovim check failed: " .. msg .. "\n")
  vim.cmd("cquit 1")
end

local function wait_for(what, cond)
  if not vim.wait(60000, cond, 50) then
    fail("timed out waiting for " .. what)
  end
end

local client = vim.lsp.start_client({
  name = "portcullis",
  cmd = { bin, "server", "--no-cache" },
  root_dir = root,
  init_options = vim.NIL,
})
if not client then
  fail("the client did not start")
end

-- Diagnostics of an opened file, with the rule as code and the source.
vim.cmd("edit " .. root .. "/src/handlers/invoices.rs")
local buf = vim.api.nvim_get_current_buf()
vim.lsp.buf_attach_client(buf, client)
wait_for("diagnostics", function()
  return #vim.diagnostic.get(buf) > 0
end)
local d = vim.diagnostic.get(buf)[1]
if d.code ~= "command-injection" or d.lnum ~= 10 or d.source ~= "portcullis" then
  fail("unexpected diagnostic " .. vim.inspect(d))
end

-- The quick fix, applied to the buffer (never saved), silences the finding.
local lsp_diag = {
  range = { start = { line = d.lnum, character = d.col }, ["end"] = { line = d.end_lnum, character = d.end_col } },
  code = d.code,
  source = d.source,
  message = d.message,
}
local answers = vim.lsp.buf_request_sync(buf, "textDocument/codeAction", {
  textDocument = { uri = vim.uri_from_bufnr(buf) },
  range = lsp_diag.range,
  context = { diagnostics = { lsp_diag } },
}, 60000)
local actions = answers and answers[client] and answers[client].result
if not actions or #actions ~= 2 then
  fail("expected two code actions, got " .. vim.inspect(answers))
end
vim.lsp.util.apply_workspace_edit(actions[1].edit, "utf-16")
local line = vim.api.nvim_buf_get_lines(buf, 10, 11, false)[1]
if not line:match("^%s*// portcullis: ignore%[command%-injection%]") then
  fail("the suppression comment is not above the line: " .. line)
end
wait_for("the suppressed finding to go", function()
  return #vim.diagnostic.get(buf) == 0
end)

-- Hover on a route registration shows its protections.
vim.cmd("edit " .. root .. "/src/routes/api.rs")
local api = vim.api.nvim_get_current_buf()
vim.lsp.buf_attach_client(api, client)
local row
for i, l in ipairs(vim.api.nvim_buf_get_lines(api, 0, -1, false)) do
  if l:find('"/cart"', 1, true) then
    row = i - 1
  end
end
local hover = vim.lsp.buf_request_sync(api, "textDocument/hover", {
  textDocument = { uri = vim.uri_from_bufnr(api) },
  position = { line = row, character = 20 },
}, 60000)
local value = hover and hover[client] and hover[client].result and hover[client].result.contents.value
if not value or not value:find("GET /api/cart", 1, true) then
  fail("no route on hover: " .. vim.inspect(hover))
end

vim.lsp.stop_client(client)
wait_for("the server to stop", function()
  return vim.lsp.get_client_by_id(client) == nil
end)
io.stdout:write("neovim check passed\n")
vim.cmd("qall!")
