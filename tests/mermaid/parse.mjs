// Parses `okstra-lsp graph --format mermaid` output with mermaid's own
// parser (the npm package, pinned by package-lock.json): every plan
// fixture, both directions, and a generated plan past mermaid's default
// limits (the collapsed chart). mermaid needs a DOM for its sanitizer, so
// jsdom provides one. Never skips: without OKSTRA_LSP_BIN it fails.
//
//   OKSTRA_LSP_BIN=target/debug/okstra-lsp node tests/mermaid/parse.mjs

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { JSDOM } from 'jsdom';

const bin = process.env.OKSTRA_LSP_BIN;
if (!bin) {
  console.error('parse.mjs: set OKSTRA_LSP_BIN to the okstra-lsp binary');
  process.exit(1);
}
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const dom = new JSDOM('<!doctype html><html><body></body></html>');
globalThis.window = dom.window;
globalThis.document = dom.window.document;
const mermaid = (await import('mermaid')).default;
mermaid.initialize({ startOnLoad: false });

const failures = [];
let parsed = 0;

async function check(name, text, expect = {}) {
  try {
    const result = await mermaid.parse(text);
    if (!result || !String(result.diagramType).startsWith('flowchart')) {
      throw new Error(`not a flowchart: ${JSON.stringify(result)}`);
    }
    // mermaid's default limits, as its renderer applies them.
    const size = text.length; // UTF-16 code units, as mermaid counts
    if (size > 50000) throw new Error(`${size} characters, over maxTextSize 50,000`);
    const collapsed = text.includes('%% collapsed to one node per');
    if (expect.collapsed !== undefined && collapsed !== expect.collapsed) {
      throw new Error(`collapsed: ${collapsed}, expected ${expect.collapsed}`);
    }
    parsed += 1;
  } catch (e) {
    failures.push(`${name}: ${e.message ?? e}`);
  }
}

// The parser is not a no-op: a broken chart must fail.
try {
  await mermaid.parse('flowchart LR\n  s1["a"b"] --> s2\n');
  failures.push('self-check: a broken chart parsed');
} catch {
  // expected
}

function graph(plan, ...args) {
  return execFileSync(bin, ['graph', plan, '--format', 'mermaid', ...args], {
    cwd: root,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
}

const notPlans = new Set(['no-stage-map.md', 'not-a-plan.md']);
const plans = fs
  .readdirSync(path.join(root, 'fixtures/plans'))
  .filter((n) => n.endsWith('.md') && !notPlans.has(n))
  .sort()
  .map((n) => `fixtures/plans/${n}`);
plans.push('fixtures/example/runs/demo-plan/planning/plan.md');
plans.push('fixtures/graph/runs/demo/planning/plan.md');

for (const plan of plans) {
  // A fixture with settings beside it is drawn with them (label aliases).
  const config = plan.replace(/\.md$/, '.config.json');
  const extra = fs.existsSync(path.join(root, config)) ? ['--config', config] : [];
  for (const direction of ['lr', 'tb']) {
    const text = graph(plan, '--direction', direction, ...extra);
    await check(`${plan} (${direction})`, text, { collapsed: false });
  }
}

// Past the limits: 700 stages, each depending on one or two earlier ones.
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'okstra-mermaid-'));
try {
  fs.mkdirSync(path.join(dir, 'runs/k/planning'), { recursive: true });
  const rows = ['## Stage Map', '| Stage | Title | depends-on | Steps |', '|---|---|---|---|'];
  for (let k = 1; k <= 700; k++) {
    const deps = k === 1 ? '(none)' : k % 3 === 0 ? `${Math.ceil(k / 2)}, ${k - 1}` : `${k - 1}`;
    rows.push(`| ${k} | Stage "${k}" <x> & y | ${deps} | ${1 + (k % 6)} |`);
  }
  rows.push('| 701 | Loop | 702 | 1 |', '| 702 | Loop back | 701 | 1 |');
  const plan = path.join(dir, 'runs/k/planning/plan.md');
  fs.writeFileSync(plan, rows.join('\n') + '\n');
  await check('700-stage plan (collapsed)', graph(plan), { collapsed: true });
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}

if (failures.length > 0) {
  console.error(`mermaid rejected ${failures.length} chart(s):\n${failures.join('\n')}`);
  process.exit(1);
}
console.log(`mermaid parsed ${parsed} charts`);
