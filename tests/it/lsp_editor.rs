//! `nself lsp` driven by a real editor: Neovim, headless, with its built-in LSP client
//! (`vim.lsp.start_client`, in Debian's 0.7). The editor opens a file with a mistake, waits for
//! the diagnostic, jumps to a definition, renames a table and formats the buffer; a Lua script
//! writes what the editor saw to a JSON file that the test reads. Without `nvim` the test fails
//! (install it: `apt-get install neovim`).

use super::support::{Project, NSELF};
use std::process::Command;

const LUA: &str = r#"
local out = {}
local function finish()
  local f = io.open(vim.env.NSELF_OUT, 'w')
  f:write(vim.fn.json_encode(out))
  f:close()
  vim.cmd('qa!')
end
local ok, err = pcall(function()
  local buf = vim.api.nvim_get_current_buf()
  local id = vim.lsp.start_client({
    name = 'nself',
    cmd = { vim.env.NSELF_BIN, 'lsp' },
    root_dir = vim.fn.getcwd(),
  })
  vim.lsp.buf_attach_client(buf, id)
  out.attached = vim.wait(10000, function()
    local c = vim.lsp.get_client_by_id(id)
    return c ~= nil and c.initialized
  end, 50)
  out.got_diagnostics = vim.wait(10000, function() return #vim.diagnostic.get(buf) > 0 end, 50)
  out.diagnostics = {}
  for _, d in ipairs(vim.diagnostic.get(buf)) do
    table.insert(out.diagnostics, { line = d.lnum, col = d.col, code = d.code, message = d.message })
  end
  -- Go to definition from `users` in `Ref: posts.author_id > users.id` (line 9, 1-based).
  vim.api.nvim_win_set_cursor(0, { 9, 24 })
  local params = vim.lsp.util.make_position_params()
  local res = vim.lsp.buf_request_sync(buf, 'textDocument/definition', params, 10000)
  local loc = res and res[id] and res[id].result
  if loc and loc[1] then loc = loc[1] end
  out.definition = loc and loc.range and loc.range.start
  -- Rename the table `users` to `people` from its declaration.
  vim.api.nvim_win_set_cursor(0, { 1, 7 })
  params = vim.lsp.util.make_position_params()
  params.newName = 'people'
  res = vim.lsp.buf_request_sync(buf, 'textDocument/rename', params, 10000)
  local edit = res and res[id] and res[id].result
  if edit then vim.lsp.util.apply_workspace_edit(edit, 'utf-16') end
  -- Format the buffer.
  res = vim.lsp.buf_request_sync(buf, 'textDocument/formatting',
    { textDocument = { uri = vim.uri_from_bufnr(buf) }, options = { tabSize = 2, insertSpaces = true } }, 10000)
  local edits = res and res[id] and res[id].result
  if edits then vim.lsp.util.apply_text_edits(edits, buf, 'utf-16') end
  out.text = table.concat(vim.api.nvim_buf_get_lines(buf, 0, -1, false), '\n')
end)
out.error = (not ok) and tostring(err) or nil
finish()
"#;

const SCHEMA: &str = "Table users {\n  id int [pk]\n  born datetime\n}\nTable posts {\n  id int [pk]\n  author_id int\n}\nRef: posts.author_id > users.id\n";

#[test]
fn neovim_sees_diagnostics_definitions_renames_and_formatting() {
    let nvim = Command::new("nvim").arg("--version").output();
    assert!(
        nvim.is_ok_and(|o| o.status.success()),
        "nvim not found: the editor is the judge of this test (apt-get install neovim)"
    );
    let p = Project::new();
    p.write("schema.dbml", SCHEMA).write("test.lua", LUA);
    let out = p.path().join("out.json");
    let run = Command::new("nvim")
        .args([
            "--headless",
            "-n",
            "-i",
            "NONE",
            "-u",
            "NONE",
            "schema.dbml",
            "-c",
            "luafile test.lua",
        ])
        .current_dir(p.path())
        .env("NSELF_BIN", NSELF)
        .env("NSELF_OUT", &out)
        .env("XDG_STATE_HOME", p.path().join("state"))
        .env("XDG_DATA_HOME", p.path().join("data"))
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let text = std::fs::read_to_string(&out).unwrap_or_else(|_| {
        panic!(
            "the editor wrote no result: {}\n{}",
            String::from_utf8_lossy(&run.stdout),
            String::from_utf8_lossy(&run.stderr)
        )
    });
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert!(v["error"].is_null(), "{v}");
    assert_eq!(v["attached"], true, "{v}");
    assert_eq!(v["got_diagnostics"], true, "{v}");
    let d = &v["diagnostics"][0];
    assert_eq!(
        (d["line"].as_u64(), d["col"].as_u64()),
        (Some(2), Some(7)),
        "{v}"
    );
    assert_eq!(d["code"], "W0601", "{v}");
    assert!(d["message"].as_str().unwrap().contains("datetime"), "{v}");
    assert_eq!(
        v["definition"],
        serde_json::json!({ "line": 0, "character": 6 }),
        "{v}"
    );
    assert_eq!(
        v["text"],
        "Table people {\n  id   int [pk]\n  born datetime\n}\n\nTable posts {\n  id        int [pk]\n  author_id int\n}\n\nRef: posts.author_id > people.id",
        "{v}"
    );
}
