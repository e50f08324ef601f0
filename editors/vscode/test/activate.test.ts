/**
 * Loads the bundle (out/extension.js) against a stub `vscode` module: the
 * bundle must resolve vscode-languageclient, register the UI commands under
 * ids that do not clash with the server's, and explain a missing binary.
 */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { loadExtension, makeStub, until } from './vscode-stub';

describe('the bundled extension', () => {
  it('activates, registers its commands and explains a missing server', async () => {
    const stub = makeStub({ serverPath: '/nonexistent/okstra-lsp', planGlobs: ['**/*.md'] });
    const ext = loadExtension(stub);
    assert.equal(typeof ext.activate, 'function');
    assert.equal(typeof ext.deactivate, 'function');
    ext.activate({ subscriptions: [] });
    await until(() => stub.errors.length > 0, 'the error message');
    assert.deepEqual([...stub.commands.keys()], [
      'okstra.previewRunBatchUi',
      'okstra.reserveRunBatchUi',
      'okstra.restartServer',
      'okstra.showServerInfo',
      'okstra.showStageGraph',
    ]);
    assert.deepEqual(stub.errors, [
      'okstra: the server binary set in okstra.serverPath was not found: /nonexistent/okstra-lsp. ' +
        'Install it with `cargo install --path server` from the okstra-lsp repository root ' +
        '(it lands in ~/.cargo/bin), or set `okstra.serverPath` to the binary.',
    ]);
    assert.ok(stub.logs.includes('okstra info searched: /nonexistent/okstra-lsp'), stub.logs.join('\n'));
    assert.equal(stub.status.visible, false);

    // okstra: Show Server Info says what was searched.
    await stub.commands.get('okstra.showServerInfo')?.();
    assert.equal(stub.warnings.length, 1);
    assert.ok(
      stub.warnings[0].startsWith(
        'okstra server — okstra: the server binary set in okstra.serverPath was not found: /nonexistent/okstra-lsp. ',
      ),
      stub.warnings[0],
    );
    assert.ok(stub.warnings[0].endsWith(' · searched: /nonexistent/okstra-lsp'), stub.warnings[0]);
    stub.warnings.length = 0;

    // The UI commands explain that there is no server instead of failing.
    await stub.commands.get('okstra.previewRunBatchUi')?.();
    assert.deepEqual(stub.warnings, ['okstra: open a plan (markdown) to preview its run batch.']);
    stub.warnings.length = 0;
    await stub.commands.get('okstra.showStageGraph')?.();
    assert.deepEqual(stub.warnings, ['okstra: open a plan (markdown) to show its stage graph.']);
    assert.deepEqual(stub.panels, []);
    await ext.deactivate();
  });
});
