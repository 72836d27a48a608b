#!/usr/bin/env node
// The reference DBML implementation kept running for the tests (`tests/it/oracle.rs`): the same
// answer as `../shared/tools/dbml-oracle.js FILE --sql` for a single-file project, without
// starting node (about a second) for every file.
//
// Reads one absolute path per line on stdin and writes one JSON line per path on stdout:
//   {"sql": "..."}       the DDL, byte for byte as @dbml/core's postgres exporter writes it
//   {"rejected": "..."}  @dbml/core rejected the file (its errors, as the oracle prints them)
//   {"fatal": "..."}     anything else went wrong (the oracle's exit 2)
// Files with `use`/`reuse` imports are not asked here: the tests run the oracle itself on them.
// The package is loaded from $DBML_PEER_DIR/node_modules/@dbml/core.
'use strict';
const fs = require('fs');
const path = require('path');
const readline = require('readline');

const core = require(path.join(process.env.DBML_PEER_DIR, 'node_modules', '@dbml', 'core'));
let codeNames = {};
try {
  codeNames = require(path.join(process.env.DBML_PEER_DIR, 'node_modules', '@dbml', 'parse')).CompileErrorCode || {};
} catch (_) { /* optional, as in the oracle */ }

function answer(file) {
  let src;
  try {
    src = fs.readFileSync(file, 'utf8');
  } catch (e) {
    return { fatal: String(e && e.message) };
  }
  let db;
  try {
    db = core.Parser.parse(src, 'dbmlv2');
  } catch (e) {
    if (!(e && Array.isArray(e.diags))) return { fatal: String((e && e.message) || e) };
    const errors = e.diags.map((d) => {
      const start = (d.location && d.location.start) || {};
      const end = (d.location && d.location.end) || {};
      return {
        code: d.code == null ? null : d.code, name: codeNames[d.code] || null, message: d.message,
        line: start.line == null ? null : start.line, column: start.column == null ? null : start.column,
        end_line: end.line == null ? null : end.line, end_column: end.column == null ? null : end.column,
      };
    });
    return { rejected: `${JSON.stringify({ ok: false, dbml_core: core.VERSION, errors }, null, 2)}\n` };
  }
  try {
    return { sql: core.ModelExporter.export(db, 'postgres') };
  } catch (e) {
    // The oracle does not catch this: node exits 1 with the stack, which reads as a rejection.
    return { rejected: String((e && e.stack) || e) };
  }
}

const lines = readline.createInterface({ input: process.stdin, terminal: false });
lines.on('line', (file) => {
  process.stdout.write(`${JSON.stringify(answer(file))}\n`);
});
