/**
 * The platform package as VS Code installs it: the unpacked `.vsix`
 * (`extension/` folder) is the extension path, its own minified bundle is
 * loaded against the stub `vscode`, no setting names a server, and no
 * `okstra-lsp` is on `PATH` or in `~/.cargo/bin` — only the bundled server can
 * answer. It must start, publish diagnostics for an open plan, answer the
 * run-batch preview, and say in okstra: Show Server Info which binary runs.
 *
 * Runs when OKSTRA_VSIX_DIR names the unpacked folder; scripts/test
 * builds and unpacks the linux-x64 package, sets it, and fails when a test is
 * skipped.
 */

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { PLAN } from './fixtures';
import { type Extension, type Stub, codeOf, doc, loadExtension, makeStub, until } from './vscode-stub';

const VSIX_DIR = process.env.OKSTRA_VSIX_DIR;

const skip = VSIX_DIR ? false : 'set OKSTRA_VSIX_DIR to the unpacked extension/ folder';

describe('the unpacked platform vsix with its bundled server', { skip }, () => {
  let ext: Extension;
  let stub: Stub;
  let dir: string;
  let plan: string;
  let extDir: string;
  let bundled: string;
  const saved = { PATH: process.env.PATH, CARGO_HOME: process.env.CARGO_HOME, HOME: process.env.HOME };

  before(async () => {
    extDir = fs.realpathSync(VSIX_DIR as string);
    bundled = path.join(extDir, 'bundled', 'okstra-lsp');
    dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'okstra-vsix-e2e-')));
    // No okstra-lsp anywhere the extension could fall back to.
    const emptyHome = path.join(dir, 'home');
    fs.mkdirSync(path.join(emptyHome, '.cargo', 'bin'), { recursive: true });
    process.env.PATH = (saved.PATH ?? '')
      .split(path.delimiter)
      .filter((d) => d !== '' && !fs.existsSync(path.join(d, 'okstra-lsp')))
      .join(path.delimiter);
    process.env.CARGO_HOME = path.join(emptyHome, '.cargo');
    process.env.HOME = emptyHome;
    assert.throws(() => execFileSync('sh', ['-c', 'command -v okstra-lsp'], { stdio: 'pipe' }));

    fs.mkdirSync(path.join(dir, 'ws', 'runs', 'x', 'd'), { recursive: true });
    plan = path.join(dir, 'ws', 'runs', 'x', 'd', 'plan.md');
    fs.writeFileSync(plan, PLAN);
    // No okstra.serverPath, no okstra.server.source: the defaults.
    stub = makeStub(
      { planGlobs: ['**/*.md'], logLevel: 'info', runBudget: 8, includeStarted: false, cap: 6 },
      path.join(dir, 'ws'),
    );
    stub.openDocuments = [doc(plan)];
    stub.activeEditor = { document: doc(plan) };
    ext = loadExtension(stub, path.join(extDir, 'out', 'extension.js'));
    ext.activate({ subscriptions: [], extensionPath: extDir });
    await until(() => stub.logs.some((l) => l.includes('initialize')), 'the server to start', 10_000);
  });

  after(async () => {
    await ext?.deactivate();
    Object.assign(process.env, saved);
    for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k];
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('starts the bundled server, with no error or warning', () => {
    assert.deepEqual(stub.errors, []);
    assert.deepEqual(stub.warnings, []);
    assert.ok(stub.logs.includes(`okstra info starting ${bundled} --stdio --log-level info`), stub.logs.join('\n'));
  });

  it('publishes diagnostics for the open plan', async () => {
    const uri = doc(plan).uri.toString();
    await until(() => (stub.diagnostics.get(uri)?.length ?? 0) > 0, 'diagnostics for the plan', 10_000);
    const codes = (stub.diagnostics.get(uri) ?? []).map(codeOf);
    assert.ok(codes.includes('stage-missing-subsection'), codes.join(', '));
  });

  it('answers the run-batch preview in the status bar, whose tooltip names the bundled binary', async () => {
    await until(() => stub.status.visible && stub.status.tooltip.includes('Server: okstra-lsp '), 'the status bar');
    assert.equal(stub.status.text, 'okstra: next 1, 3 (4/8)');
    const version = execFileSync(bundled, ['--version'], { encoding: 'utf8' }).trim();
    assert.equal(
      stub.status.tooltip.split('\n').at(-1),
      `Server: ${version} — ${bundled} (bundled with the extension)`,
    );
  });

  it('okstra: Show Server Info says which binary runs and its --version', async () => {
    stub.infos.length = 0;
    await stub.commands.get('okstra.showServerInfo')?.();
    const version = execFileSync(bundled, ['--version'], { encoding: 'utf8' }).trim();
    assert.match(version, /^okstra-lsp \d+\.\d+\.\d+/);
    assert.deepEqual(stub.infos, [
      `okstra server — binary: ${bundled} · resolved: bundled with the extension · version: ${version}`,
    ]);
    assert.ok(stub.logs.includes(`okstra info [server info] binary: ${bundled}`), stub.logs.join('\n'));
  });
});
