/**
 * The contract with the real server: the command line `logic` builds, the
 * command ids, and the shape of the run-batch answers `logic` formats.
 *
 * Runs when OKSTRA_LSP_BIN names a built server (`npm run test:server`
 * uses ../../target/debug/okstra-lsp); skipped otherwise, so `npm test` needs
 * no Rust toolchain. scripts/test sets it and fails when a test is skipped.
 */

import assert from 'node:assert/strict';
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';

import * as logic from '../src/logic';
import { PLAN } from './fixtures';

const BIN = process.env.OKSTRA_LSP_BIN;


interface RpcError {
  code: number;
  message: string;
  data?: unknown;
}

/** A minimal LSP client over the server's stdio (Content-Length framing). */
class Rpc {
  private buf = Buffer.alloc(0);
  private nextId = 1;
  private waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: RpcError) => void }>();
  readonly stderr: string[] = [];

  constructor(
    private readonly proc: ChildProcessWithoutNullStreams,
    private readonly onRequest: (method: string, params: unknown) => unknown,
  ) {
    proc.stdout.on('data', (chunk: Buffer) => this.feed(chunk));
    proc.stderr.on('data', (chunk: Buffer) => this.stderr.push(chunk.toString()));
  }

  private write(msg: object): void {
    const body = Buffer.from(JSON.stringify({ jsonrpc: '2.0', ...msg }), 'utf8');
    this.proc.stdin.write(`Content-Length: ${body.length}\r\n\r\n`);
    this.proc.stdin.write(body);
  }

  private feed(chunk: Buffer): void {
    this.buf = Buffer.concat([this.buf, chunk]);
    for (;;) {
      const end = this.buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const m = /Content-Length: (\d+)/i.exec(this.buf.subarray(0, end).toString());
      if (!m) throw new Error('bad header');
      const len = Number(m[1]);
      if (this.buf.length < end + 4 + len) return;
      const msg = JSON.parse(this.buf.subarray(end + 4, end + 4 + len).toString('utf8'));
      this.buf = this.buf.subarray(end + 4 + len);
      this.dispatch(msg);
    }
  }

  private dispatch(msg: { id?: number; method?: string; params?: unknown; result?: unknown; error?: RpcError }): void {
    if (msg.method !== undefined && msg.id !== undefined) {
      this.write({ id: msg.id, result: this.onRequest(msg.method, msg.params) ?? null });
    } else if (msg.method === undefined && msg.id !== undefined) {
      const w = this.waiting.get(msg.id);
      this.waiting.delete(msg.id);
      if (msg.error) w?.reject(msg.error);
      else w?.resolve(msg.result);
    }
  }

  request(method: string, params: unknown): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.write({ id, method, params });
    });
  }

  notify(method: string, params: unknown): void {
    this.write({ method, params });
  }
}

describe('the real server', { skip: BIN ? false : 'set OKSTRA_LSP_BIN to run (npm run test:server)' }, () => {
  let dir: string;
  let proc: ChildProcessWithoutNullStreams;
  let rpc: Rpc;
  let planUri: string;
  let readmeUri: string;
  let initResult: { capabilities?: { executeCommandProvider?: { commands?: string[] } } };
  const settings = { cap: 6, runBudget: 8, includeStarted: false, labelAliases: {}, severityOverrides: {} };

  before(async () => {
    dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'okstra-vscode-')));
    fs.mkdirSync(path.join(dir, 'runs', 'x', 'd'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'runs', 'x', 'd', 'plan.md'), PLAN);
    fs.writeFileSync(path.join(dir, 'README.md'), '# Just a readme\n\nNo plan here.\n');
    planUri = pathToFileURL(path.join(dir, 'runs', 'x', 'd', 'plan.md')).href;
    readmeUri = pathToFileURL(path.join(dir, 'README.md')).href;

    proc = spawn(path.resolve(BIN as string), logic.buildServerArgs('warn'), { cwd: dir });
    rpc = new Rpc(proc, (method) => (method === 'workspace/configuration' ? [settings] : null));
    const rootUri = pathToFileURL(dir).href;
    initResult = (await rpc.request('initialize', {
      processId: process.pid,
      rootUri,
      workspaceFolders: [{ uri: rootUri, name: 'ws' }],
      capabilities: {
        workspace: { configuration: true, didChangeConfiguration: { dynamicRegistration: true } },
      },
    })) as typeof initResult;
    rpc.notify('initialized', {});
    rpc.notify('textDocument/didOpen', {
      textDocument: { uri: planUri, languageId: 'markdown', version: 1, text: PLAN },
    });
  });

  after(async () => {
    if (rpc) {
      await rpc.request('shutdown', null).catch(() => undefined);
      rpc.notify('exit', null);
    }
    proc?.kill();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const execute = (command: string, args: logic.BatchArgs) =>
    rpc.request('workspace/executeCommand', { command, arguments: [args] });

  it('advertises its commands, none of them an id of the UI commands', () => {
    const commands = initResult.capabilities?.executeCommandProvider?.commands ?? [];
    for (const c of [logic.PREVIEW_COMMAND, logic.RESERVE_COMMAND, 'okstra.renumberStages', logic.STAGE_GRAPH_COMMAND]) {
      assert.ok(commands.includes(c), `${c} in ${JSON.stringify(commands)}`);
    }
    // vscode-languageclient registers every server command under its own
    // id: a UI command of the same id could not be registered.
    const manifest = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', '..', 'package.json'), 'utf8'));
    const ui: string[] = manifest.contributes.commands.map((c: { command: string }) => c.command);
    assert.ok(ui.includes('okstra.previewRunBatchUi'), JSON.stringify(ui));
    assert.ok(ui.includes('okstra.showStageGraph'), JSON.stringify(ui));
    for (const c of ui) assert.ok(!commands.includes(c), `${c} is also a server command`);
  });

  it('answers okstra.stageGraph in the shape the graph panel draws', async () => {
    const result = await rpc.request('workspace/executeCommand', {
      command: logic.STAGE_GRAPH_COMMAND,
      arguments: [logic.buildStageGraphArgs(planUri, false)],
    });
    assert.ok(logic.isStageGraph(result), JSON.stringify(result));
    assert.equal(result.version, 1);
    const svg = logic.svgMarkup(result.svg);
    assert.ok(svg, result.svg.slice(0, 200));
    assert.deepEqual([...svg.matchAll(/<g\b[^>]*\bdata-stage="(\d+)"/g)].map((m) => Number(m[1])), [1, 2, 3]);
    // Each anchor is its stage's heading.
    const lines = PLAN.split('\n');
    assert.deepEqual(
      result.anchors.map((a) => [a.stage, lines[a.range.start.line]]),
      [
        [1, '### 4.5.1 Stage 1 — Fix parser'],
        [2, '### 4.5.2 Stage 2 — Wire API'],
        [3, '### 4.5.3 Stage 3 — Docs'],
      ],
    );
  });

  it('answers okstra.stageGraph on other markdown with an error the panel shows', async () => {
    await assert.rejects(
      rpc.request('workspace/executeCommand', {
        command: logic.STAGE_GRAPH_COMMAND,
        arguments: [logic.buildStageGraphArgs(readmeUri, false)],
      }),
      (e: RpcError) => {
        assert.match(e.message, /plan/i);
        return true;
      },
    );
  });

  it('previews the next batch in the shape the status bar formats', async () => {
    const result = await execute(
      logic.PREVIEW_COMMAND,
      logic.buildBatchArgs(planUri, { runBudget: 8, includeStarted: false }),
    );
    assert.ok(logic.isRunBatch(result), JSON.stringify(result));
    assert.equal(logic.formatStatusBar(result).text, 'okstra: next 1, 3 (4/8)');
    assert.equal(
      result.summary,
      'Next run: stages 1, 3 — 4/8 steps\nready:   1, 3\ndone:    (none)\nstarted: (none)\nblocked: 2 (waiting on 1)',
    );
    assert.equal(result.consumersPath, path.join(dir, 'runs', 'x', 'consumers.jsonl'));
  });

  it('answers "not a plan" for other markdown, which hides the status bar', async () => {
    await assert.rejects(
      execute(logic.PREVIEW_COMMAND, logic.buildBatchArgs(readmeUri, { runBudget: 8, includeStarted: false })),
      (e: RpcError) => {
        assert.equal(logic.errorKind(e), 'not-a-plan', e.message);
        assert.equal(logic.formatStatusBarError(e.message, logic.errorKind(e)).visible, false);
        return true;
      },
    );
  });

  it('reserves for an impl task key, then nothing is ready', async () => {
    const result = await execute(
      logic.RESERVE_COMMAND,
      logic.buildBatchArgs(planUri, { runBudget: 8, includeStarted: false }, 'impl-a'),
    );
    assert.ok(logic.isRunBatch(result), JSON.stringify(result));
    const res = result as logic.Reservation;
    const consumers = path.join(dir, 'runs', 'x', 'consumers.jsonl');
    assert.equal(
      logic.formatReserveMessage(res, 'impl-a'),
      'okstra: reserved for impl-a. Next run: stages 1, 3 — 4/8 steps · ready: 1, 3 · done: (none) · ' +
        `started: (none) · blocked: 2 (waiting on 1) · reserved in ${consumers}`,
    );
    assert.equal(res.rows.length, 2);
    assert.equal(fs.readFileSync(consumers, 'utf8').trim().split('\n').length, 2);

    await assert.rejects(
      execute(logic.PREVIEW_COMMAND, logic.buildBatchArgs(planUri, { runBudget: 8, includeStarted: false })),
      (e: RpcError) => {
        assert.match(e.message, /^no stage is ready/);
        assert.equal(logic.errorKind(e), 'no-stage-ready');
        assert.equal(logic.formatStatusBarError(e.message, logic.errorKind(e)).text, 'okstra: no stage ready');
        return true;
      },
    );
  });

  it('refuses a reservation without a key', async () => {
    await assert.rejects(
      execute(logic.RESERVE_COMMAND, logic.buildBatchArgs(planUri, { runBudget: 8, includeStarted: false })),
      (e: RpcError) => {
        assert.match(e.message, /needs implTaskKey/);
        assert.equal(logic.errorKind(e), 'missing-impl-key');
        return true;
      },
    );
  });
});
