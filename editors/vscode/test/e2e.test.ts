/**
 * The bundled extension against the real server, with a stub `vscode`
 * (see vscode-stub.ts): status bar, the UI commands, and the server's own
 * command ids as its code lens runs them.
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
import { type Extension, type Stub, codeOf, doc, loadExtension, makeStub, until } from './vscode-stub';

const BIN = process.env.OKSTRA_LSP_BIN;

describe('the extension with the real server', { skip: BIN ? false : 'set OKSTRA_LSP_BIN to run (npm run test:server)' }, () => {
  let dir: string;
  let plan: string;
  let consumers: string;
  let stub: Stub;
  let ext: Extension;

  before(async () => {
    dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'okstra-vscode-e2e-')));
    fs.mkdirSync(path.join(dir, 'runs', 'x', 'd'), { recursive: true });
    plan = path.join(dir, 'runs', 'x', 'd', 'plan.md');
    consumers = path.join(dir, 'runs', 'x', 'consumers.jsonl');
    fs.writeFileSync(plan, PLAN);
    fs.writeFileSync(path.join(dir, 'README.md'), '# Just a readme\n');
    stub = makeStub(
      {
        serverPath: path.resolve(BIN as string),
        planGlobs: ['**/*.md'],
        logLevel: 'info',
        runBudget: 8,
        includeStarted: false,
        cap: 6,
      },
      dir,
    );
    stub.openDocuments = [doc(plan)];
    stub.activeEditor = { document: doc(plan) };
    ext = loadExtension(stub);
    ext.activate({ subscriptions: [] });
    await until(() => stub.logs.some((l) => l.includes('initialize')), 'the server to start');
  });

  after(async () => {
    await ext?.deactivate();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('starts the server with explicit --stdio and routes its log levels', () => {
    assert.deepEqual(stub.errors, []);
    assert.ok(
      stub.logs.includes(`okstra info starting ${path.resolve(BIN as string)} --stdio --log-level info`),
      stub.logs.join('\n'),
    );
    assert.ok(
      stub.logs.some((l) => l.startsWith('okstra info okstra_lsp')),
      stub.logs.join('\n'),
    );
  });

  it('publishes diagnostics for the open plan', async () => {
    const uri = doc(plan).uri.toString();
    await until(() => (stub.diagnostics.get(uri)?.length ?? 0) > 0, 'diagnostics for the plan');
    const codes = (stub.diagnostics.get(uri) ?? []).map(codeOf);
    assert.ok(codes.includes('stage-missing-subsection'), codes.join(', '));
  });

  it('shows the next batch of the active plan in the status bar', async () => {
    await until(() => stub.status.visible, 'the status bar');
    assert.equal(stub.status.text, 'okstra: next 1, 3 (4/8)');
  });

  it('hides the status bar on markdown that is not a plan, and shows it again', async () => {
    stub.activeEditor = { document: doc(path.join(dir, 'README.md')) };
    stub.fire('activeEditor');
    await until(() => !stub.status.visible, 'the status bar to hide');
    stub.activeEditor = { document: doc(plan) };
    stub.fire('activeEditor');
    await until(() => stub.status.visible, 'the status bar to show');
  });

  it('previews through the code lens command id with the UI', async () => {
    const codeLens = stub.commands.get('okstra.previewRunBatch');
    assert.ok(codeLens, 'vscode-languageclient registers the server command');
    const result = await codeLens({ uri: doc(plan).uri.toString() });
    assert.deepEqual((result as { stages: number[] }).stages, [1, 3]);
    assert.deepEqual(stub.infos, [
      'okstra: Next run: stages 1, 3 — 4/8 steps · ready: 1, 3 · done: (none) · started: (none) · ' +
        'blocked: 2 (waiting on 1)',
    ]);
  });

  it('reserves from the UI command after asking for the key', async () => {
    stub.infos.length = 0;
    stub.inputBoxAnswer = 'impl-a';
    await stub.commands.get('okstra.reserveRunBatchUi')?.();
    assert.deepEqual(stub.inputBoxValidation, [undefined]);
    assert.deepEqual(stub.infos, [
      'okstra: reserved for impl-a. Next run: stages 1, 3 — 4/8 steps · ready: 1, 3 · done: (none) · ' +
        `started: (none) · blocked: 2 (waiting on 1) · reserved in ${consumers}`,
    ]);
    assert.equal(fs.readFileSync(consumers, 'utf8').trim().split('\n').length, 2);
    await until(() => stub.status.text === 'okstra: no stage ready', 'the status bar to update');
  });

  it('shows the server message when nothing is ready', async () => {
    stub.warnings.length = 0;
    await stub.commands.get('okstra.previewRunBatchUi')?.();
    assert.equal(stub.warnings.length, 1);
    assert.match(stub.warnings[0], /^okstra: no stage is ready: every remaining stage has unsatisfied depends-on/);
  });

  it('restarts the server on okstra.restartServer', async () => {
    await stub.commands.get('okstra.restartServer')?.();
    assert.deepEqual(stub.errors, []);
    await until(() => stub.status.visible && stub.status.text === 'okstra: no stage ready', 'the status bar after restart');
  });
});
