/**
 * Which binary the extension starts (okstra.serverPath, okstra.server.source,
 * the bundled server, PATH), with the real server copied into a made-up
 * extension folder and a PATH of our own: the glue in extension.ts around
 * logic.resolveServer (chmod of the bundled server, the fallback warning,
 * okstra: Show Server Info).
 *
 * Runs when OKSTRA_LSP_BIN names a built server; scripts/test sets it and
 * fails when a test is skipped.
 */

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';

import { PLAN } from './fixtures';
import { type Extension, type Stub, doc, loadExtension, makeStub, until } from './vscode-stub';

const BIN = process.env.OKSTRA_LSP_BIN;

describe('choosing the server binary', { skip: BIN ? false : 'set OKSTRA_LSP_BIN to run (npm run test:server)' }, () => {
  let dir: string;
  let ws: string;
  let pathBin: string;
  let ext: Extension | undefined;
  const saved = { PATH: process.env.PATH, CARGO_HOME: process.env.CARGO_HOME };

  before(() => {
    dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'okstra-vscode-source-')));
    ws = path.join(dir, 'ws');
    fs.mkdirSync(ws);
    fs.writeFileSync(path.join(ws, 'plan.md'), PLAN);
    // The only okstra-lsp on PATH, and an empty ~/.cargo/bin.
    const binDir = path.join(dir, 'path-bin');
    fs.mkdirSync(binDir);
    pathBin = path.join(binDir, 'okstra-lsp');
    fs.symlinkSync(path.resolve(BIN as string), pathBin);
    process.env.PATH = binDir;
    process.env.CARGO_HOME = path.join(dir, 'cargo');
  });

  afterEach(async () => {
    await ext?.deactivate();
    ext = undefined;
  });

  after(() => {
    Object.assign(process.env, saved);
    for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k];
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  /** A made-up installed extension: `bundled/okstra-lsp` (a copy of the server) with `mode`, or none. */
  function extensionDir(name: string, mode: number | undefined): string {
    const e = path.join(dir, name);
    if (mode !== undefined) {
      fs.mkdirSync(path.join(e, 'bundled'), { recursive: true });
      fs.copyFileSync(path.resolve(BIN as string), path.join(e, 'bundled', 'okstra-lsp'));
      fs.chmodSync(path.join(e, 'bundled', 'okstra-lsp'), mode);
    } else {
      fs.mkdirSync(e, { recursive: true });
    }
    return e;
  }

  async function start(settings: Record<string, unknown>, extensionPath: string): Promise<Stub> {
    const stub = makeStub({ planGlobs: ['**/*.md'], logLevel: 'info', ...settings }, ws);
    stub.activeEditor = { document: doc(path.join(ws, 'plan.md')) };
    ext = loadExtension(stub);
    ext.activate({ subscriptions: [], extensionPath });
    await until(() => stub.logs.some((l) => l.includes('initialize')), 'the server to start');
    return stub;
  }

  async function serverInfo(stub: Stub): Promise<string[]> {
    stub.infos.length = 0;
    await stub.commands.get('okstra.showServerInfo')?.();
    return stub.infos;
  }

  const VERSION = /okstra-lsp \d+\.\d+\.\d+/;
  const re = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

  it('runs the bundled server by default, even with one on PATH', async () => {
    const e = extensionDir('ext-bundled', 0o755);
    const stub = await start({}, e);
    const bundled = path.join(e, 'bundled', 'okstra-lsp');
    assert.ok(stub.logs.includes(`okstra info starting ${bundled} --stdio --log-level info`), stub.logs.join('\n'));
    assert.deepEqual(stub.warnings, []);
    const [info] = await serverInfo(stub);
    assert.match(
      info,
      new RegExp(`^okstra server — binary: ${re(bundled)} · resolved: bundled with the extension · version: ${VERSION.source}$`),
    );
  });

  it('makes a bundled server that lost its mode executable', async () => {
    const e = extensionDir('ext-0644', 0o644);
    const bundled = path.join(e, 'bundled', 'okstra-lsp');
    const stub = await start({}, e);
    assert.ok(stub.logs.includes(`okstra info made the bundled server executable: ${bundled}`), stub.logs.join('\n'));
    assert.ok(stub.logs.includes(`okstra info starting ${bundled} --stdio --log-level info`), stub.logs.join('\n'));
    assert.equal(fs.statSync(bundled).mode & 0o777, 0o755);
    assert.deepEqual(stub.warnings, []);
  });

  it('falls back to PATH with a warning (once) when the package has no bundled server', async () => {
    const e = extensionDir('ext-none', undefined);
    const stub = await start({}, e);
    const missing = path.join(e, 'bundled', 'okstra-lsp');
    assert.ok(stub.logs.includes(`okstra info starting ${pathBin} --stdio --log-level info`), stub.logs.join('\n'));
    const warning =
      `okstra: this package of the extension has no bundled server (${missing}); using ${pathBin} from PATH ` +
      'instead. Install the extension\'s package for your platform, or set okstra.server.source to "path" to silence this.';
    assert.deepEqual(stub.warnings, [warning]);
    assert.ok(stub.logs.includes(`okstra warn ${warning}`));
    const [info] = await serverInfo(stub);
    assert.match(
      info,
      new RegExp(
        `^okstra server — binary: ${re(pathBin)} · resolved: found on PATH \\(fallback: the bundled server is missing\\) · ` +
          `version: ${VERSION.source} · bundled server missing: ${re(missing)}$`,
      ),
    );
    // A restart logs it again but does not pop it up again.
    await stub.commands.get('okstra.restartServer')?.();
    assert.equal(stub.logs.filter((l) => l === `okstra warn ${warning}`).length, 2);
    assert.deepEqual(stub.warnings, [warning]);
  });

  it('okstra.server.source "path" runs the one on PATH, not the bundled one', async () => {
    const e = extensionDir('ext-path', 0o755);
    const stub = await start({ 'server.source': 'path' }, e);
    assert.ok(stub.logs.includes(`okstra info starting ${pathBin} --stdio --log-level info`), stub.logs.join('\n'));
    assert.deepEqual(stub.warnings, []);
    const [info] = await serverInfo(stub);
    assert.match(
      info,
      new RegExp(`^okstra server — binary: ${re(pathBin)} · resolved: found on PATH · version: ${VERSION.source}$`),
    );
  });

  it('okstra.serverPath wins over the bundled server', async () => {
    const e = extensionDir('ext-configured', 0o755);
    const stub = await start({ serverPath: path.resolve(BIN as string) }, e);
    assert.ok(
      stub.logs.includes(`okstra info starting ${path.resolve(BIN as string)} --stdio --log-level info`),
      stub.logs.join('\n'),
    );
    const [info] = await serverInfo(stub);
    assert.match(info, /resolved: okstra\.serverPath · version: okstra-lsp /);
  });
});
