/**
 * okstra: Show Stage Graph against the real server, with a stub `vscode`
 * (see vscode-stub.ts): the webview beside the plan, its content security
 * policy, refreshes on edits (debounced, the latest version drawn), on
 * consumers.jsonl changes and when another plan becomes active, errors
 * inside the panel, and a click on a stage node revealing its heading.
 *
 * Runs when OKSTRA_LSP_BIN names a built server (`npm run test:server`);
 * scripts/test sets it and fails when a test is skipped.
 */

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { PLAN } from './fixtures';
import {
  type Doc,
  type Extension,
  type Panel,
  type Stub,
  Uri,
  doc,
  edit,
  loadExtension,
  makeStub,
  sleep,
  until,
} from './vscode-stub';

const BIN = process.env.OKSTRA_LSP_BIN;

/** The stages drawn in a page, in the order of their nodes. */
function stagesIn(html: string): number[] {
  return [...html.matchAll(/<g\b[^>]*\bdata-stage="(\d+)"/g)].map((m) => Number(m[1]));
}

/** The line of a stage's heading in a plan's text. */
function headingLine(text: string, stage: number): number {
  const line = text.split('\n').findIndex((l) => new RegExp(`^#+ .*\\bStage ${stage}\\b`).test(l));
  assert.ok(line >= 0, `no heading for stage ${stage}`);
  return line;
}

/** PLAN with more stages: a Stage Map row (above every stage heading) and a section each. */
function withStages(...stages: number[]): string {
  const rows = stages.map((k) => `| ${k} | Extra ${k} | 1 | 1 |`).join('\n');
  const sections = stages
    .map(
      (k) =>
        `\n### 4.5.${k} Stage ${k} — Extra ${k}\n\n#### Stepwise Execution Order\n` +
        '| step | action | files | command | expected |\n|---|---|---|---|---|\n' +
        `| 1 | extra | \`src/e${k}.rs\` | \`cargo test e${k}\` | passes |\n`,
    )
    .join('');
  return PLAN.replace('| 3 | Docs | (none) | 1 |', `| 3 | Docs | (none) | 1 |\n${rows}`) + sections;
}

const CSP_RE = /<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'nonce-([A-Za-z0-9+/]+)'; script-src 'nonce-\1';">/;

describe('okstra: Show Stage Graph with the real server', { skip: BIN ? false : 'set OKSTRA_LSP_BIN to run (npm run test:server)' }, () => {
  let dir: string;
  let plan: string;
  let planDoc: Doc;
  let other: string;
  let readme: string;
  let consumers: string;
  let stub: Stub;
  let ext: Extension;
  let panel: Panel;

  before(async () => {
    dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'okstra-vscode-graph-')));
    fs.mkdirSync(path.join(dir, 'runs', 'x', 'd'), { recursive: true });
    fs.mkdirSync(path.join(dir, 'runs', 'y', 'd'), { recursive: true });
    plan = path.join(dir, 'runs', 'x', 'd', 'plan.md');
    other = path.join(dir, 'runs', 'y', 'd', 'other-plan.md');
    readme = path.join(dir, 'README.md');
    consumers = path.join(dir, 'runs', 'x', 'consumers.jsonl');
    fs.writeFileSync(plan, PLAN);
    // Another plan: stages 1 and 2 only.
    fs.writeFileSync(other, PLAN.replace('| 3 | Docs | (none) | 1 |\n', '').replace(/\n### 4\.5\.3 Stage 3[\s\S]*$/, '\n'));
    fs.writeFileSync(readme, '# Just a readme\n\nNo plan here.\n');
    stub = makeStub(
      { serverPath: path.resolve(BIN as string), planGlobs: ['**/*.md'], logLevel: 'info', runBudget: 8, includeStarted: false, cap: 6 },
      dir,
    );
    planDoc = doc(plan);
    stub.openDocuments = [planDoc];
    stub.activeEditor = { document: planDoc, viewColumn: 1 };
    ext = loadExtension(stub);
    ext.activate({ subscriptions: [] });
    await until(() => stub.logs.some((l) => l.includes('initialize')), 'the server to start');
  });

  after(async () => {
    await ext?.deactivate();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('opens the graph of the active plan beside it, under a strict CSP', async () => {
    const show = stub.commands.get('okstra.showStageGraph');
    assert.ok(show, 'the UI command is registered');
    await until(() => stub.status.visible, 'the server to answer');
    assert.ok(stub.commands.has('okstra.stageGraph'), 'vscode-languageclient registers the server command');
    await show();
    assert.equal(stub.panels.length, 1);
    panel = stub.panels[0];
    assert.equal(panel.title, 'Stage Graph: plan.md');
    assert.deepEqual(panel.showOptions, { viewColumn: -2, preserveFocus: true });
    assert.deepEqual(panel.options, { enableScripts: true, enableCommandUris: false, localResourceRoots: [] });
    const html = panel.webview.html;
    assert.deepEqual(stagesIn(html), [1, 2, 3], html);
    const nonce = CSP_RE.exec(html)?.[1];
    assert.ok(nonce, html);
    assert.ok(html.includes(`<script nonce="${nonce}">`));
    assert.deepEqual(stub.errors, []);
    assert.deepEqual(stub.warnings, []);
  });

  it('reveals the panel instead of opening a second one', async () => {
    const pages = panel.pages.length;
    await stub.commands.get('okstra.showStageGraph')?.();
    assert.equal(stub.panels.length, 1);
    assert.deepEqual(panel.reveals, [[undefined, true]]);
    // The same graph: the page is not reloaded.
    assert.equal(panel.pages.length, pages);
  });

  it('redraws as the plan changes, debounced: only the latest version is drawn', async () => {
    const before = panel.pages.length;
    stub.fire('change', edit(planDoc, withStages(4)));
    stub.fire('change', edit(planDoc, withStages(4, 5)));
    await until(() => stagesIn(panel.webview.html).includes(5), 'the graph with stage 5');
    assert.deepEqual(stagesIn(panel.webview.html), [1, 2, 3, 4, 5]);
    await sleep(700);
    // One page for both edits: the version with stage 4 alone was never drawn.
    assert.equal(panel.pages.length, before + 1);
  });

  it('reveals the heading of a clicked stage in the plan', async () => {
    const text = withStages(4, 5);
    const line = headingLine(text, 2);
    assert.notEqual(line, headingLine(PLAN, 2), 'the edit moved the heading');
    // The server's anchor for stage 2 (through the command vscode-languageclient registers).
    const answer = await stub.commands.get('okstra.stageGraph')?.({ uri: planDoc.uri.toString() });
    const anchor = (answer as { anchors: { stage: number; range: { start: unknown; end: unknown } }[] }).anchors.find(
      (a) => a.stage === 2,
    );
    assert.ok(anchor, JSON.stringify(answer));
    panel.post({ type: 'reveal', stage: 2 });
    await until(() => stub.activeEditor?.selection?.start.line === line, "stage 2's heading selected");
    const editor = stub.activeEditor;
    assert.equal(editor?.document.uri.toString(), planDoc.uri.toString());
    assert.equal(editor?.viewColumn, 1);
    // An empty selection at the heading's start; the whole heading revealed.
    assert.deepEqual({ ...editor?.selection?.start }, anchor.range.start);
    assert.deepEqual({ ...editor?.selection?.end }, anchor.range.start);
    assert.deepEqual(
      editor?.revealed?.map((r) => ({ start: { ...r.start }, end: { ...r.end } })),
      [{ start: anchor.range.start, end: anchor.range.end }],
    );
    // Stage 5, added by the edit, has its anchor too.
    panel.post({ type: 'reveal', stage: 5 });
    await until(() => stub.activeEditor?.selection?.start.line === headingLine(text, 5), "stage 5's heading selected");
    // Unknown stages and other messages do nothing.
    const shown = stub.activeEditor;
    panel.post({ type: 'reveal', stage: 42 });
    panel.post({ type: 'other' });
    await sleep(100);
    assert.equal(stub.activeEditor, shown);
  });

  it('redraws when consumers.jsonl changes', async () => {
    const before = panel.webview.html;
    const pages = panel.pages.length;
    fs.writeFileSync(
      consumers,
      '{"impl_task_key":"impl-a","stage":1,"status":"started","started_at":"2026-06-05T09:30:00+00:00","head_commit":"abc"}\n',
    );
    await sleep(500);
    assert.equal(panel.pages.length, pages, 'nothing redraws before the watcher says so');
    stub.fire('consumers', Uri.file(consumers));
    await until(() => panel.pages.length > pages, 'the graph to redraw');
    assert.notEqual(panel.webview.html, before);
    assert.deepEqual(stagesIn(panel.webview.html), [1, 2, 3, 4, 5]);

    // consumers.jsonl cannot be read: the server's note above the graph.
    assert.doesNotMatch(panel.webview.html, /class="note"/);
    const saved = fs.readFileSync(consumers);
    fs.rmSync(consumers);
    fs.mkdirSync(consumers);
    stub.fire('consumers', Uri.file(consumers));
    await until(() => panel.webview.html.includes('class="note"'), 'the note');
    assert.match(panel.webview.html, /<p class="note">okstra: [^<]*consumers\.jsonl[^<]*<\/p>/);
    assert.deepEqual(stagesIn(panel.webview.html), [1, 2, 3, 4, 5]);
    fs.rmdirSync(consumers);
    fs.writeFileSync(consumers, saved);
    stub.fire('consumers', Uri.file(consumers));
    await until(() => !panel.webview.html.includes('class="note"'), 'the note to go');
  });

  it('follows the active plan, ignores other editors, and shows errors in the panel', async () => {
    const otherDoc = doc(other);
    stub.openDocuments.push(otherDoc);
    stub.fire('open', otherDoc);
    stub.activeEditor = { document: otherDoc, viewColumn: 1 };
    stub.fire('activeEditor');
    await until(() => stagesIn(panel.webview.html).join() === '1,2', 'the other plan');
    assert.equal(panel.title, 'Stage Graph: other-plan.md');

    // Not markdown: the graph stays.
    const pages = panel.pages.length;
    stub.activeEditor = { document: doc(path.join(dir, 'notes.txt'), 'plaintext') };
    stub.fire('activeEditor');
    // No editor (the panel itself has the focus): the graph stays.
    stub.activeEditor = undefined;
    stub.fire('activeEditor');
    await sleep(500);
    assert.equal(panel.pages.length, pages);
    assert.equal(panel.title, 'Stage Graph: other-plan.md');

    // Markdown that is not a plan: the server's message, in the panel.
    const readmeDoc = doc(readme);
    stub.openDocuments.push(readmeDoc);
    stub.fire('open', readmeDoc);
    stub.activeEditor = { document: readmeDoc, viewColumn: 1 };
    stub.fire('activeEditor');
    await until(() => panel.webview.html.includes('class="error"'), 'the error page');
    assert.equal(panel.title, 'Stage Graph: README.md');
    assert.deepEqual(stagesIn(panel.webview.html), []);
    assert.match(panel.webview.html, CSP_RE);
    assert.match(panel.webview.html, /<main class="error" role="alert">okstra: [^<]*plan[^<]*<\/main>/i);
    assert.deepEqual(stub.errors, []);
    assert.deepEqual(stub.warnings, []);

    // Back to the first plan.
    stub.activeEditor = { document: planDoc, viewColumn: 1 };
    stub.fire('activeEditor');
    await until(() => stagesIn(panel.webview.html).join() === '1,2,3,4,5', 'the first plan again');
    assert.equal(panel.title, 'Stage Graph: plan.md');
  });

  it('stops refreshing when closed, and opens a new panel next time', async () => {
    panel.dispose();
    const pages = panel.pages.length;
    stub.fire('change', edit(planDoc, withStages(4)));
    await sleep(700);
    assert.equal(panel.pages.length, pages);
    await stub.commands.get('okstra.showStageGraph')?.();
    assert.equal(stub.panels.length, 2);
    assert.deepEqual(stagesIn(stub.panels[1].webview.html), [1, 2, 3, 4]);
  });
});
