import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import * as logic from '../src/logic';

// The examples of the server's answers (camelCase JSON).
const PREVIEW: logic.RunBatch = {
  stages: [2, 3],
  totalSteps: 6,
  budget: 8,
  ready: [2, 3, 5],
  done: [1],
  started: [{ stage: 4, implTaskKey: 'impl-a' }],
  blocked: [{ stage: 6, waitingOn: [4] }],
  summary:
    'Next run: stages 2, 3 — 6/8 steps\n' +
    'ready:   2, 3, 5\n' +
    'done:    1\n' +
    'started: 4 (by impl-a)\n' +
    'blocked: 6 (waiting on 4)',
};

const RESERVATION: logic.Reservation = {
  ...PREVIEW,
  summary: `${PREVIEW.summary}\nreserved in /abs/runs/x/consumers.jsonl`,
  consumersPath: '/abs/runs/x/consumers.jsonl',
  rows: [
    { impl_task_key: 'impl-b', stage: 2, status: 'started', started_at: '2026-01-01T00:00:00Z', head_commit: 'abc' },
    { impl_task_key: 'impl-b', stage: 3, status: 'started', started_at: '2026-01-01T00:00:00Z', head_commit: 'abc' },
  ],
  invalidLines: [],
};

describe('buildDocumentSelector', () => {
  it('defaults to every markdown file', () => {
    assert.deepEqual(logic.buildDocumentSelector(undefined), [
      { scheme: 'file', language: 'markdown', pattern: '**/*.md' },
    ]);
  });

  it('makes one filter per glob', () => {
    assert.deepEqual(logic.buildDocumentSelector(['**/runs/**/*.md', 'plans/*.md']), [
      { scheme: 'file', language: 'markdown', pattern: '**/runs/**/*.md' },
      { scheme: 'file', language: 'markdown', pattern: 'plans/*.md' },
    ]);
  });

  it('drops blanks, non-strings and duplicates', () => {
    assert.deepEqual(logic.buildDocumentSelector([' a/*.md ', '', 3, null, 'a/*.md']), [
      { scheme: 'file', language: 'markdown', pattern: 'a/*.md' },
    ]);
  });

  it('falls back to the default when nothing is usable', () => {
    assert.deepEqual(logic.buildDocumentSelector([]), [{ scheme: 'file', language: 'markdown', pattern: '**/*.md' }]);
    assert.deepEqual(logic.buildDocumentSelector('**/*.md'), [
      { scheme: 'file', language: 'markdown', pattern: '**/*.md' },
    ]);
  });
});

describe('buildServerArgs', () => {
  it('always passes --stdio explicitly', () => {
    assert.deepEqual(logic.buildServerArgs(undefined), ['--stdio']);
    assert.deepEqual(logic.buildServerArgs(''), ['--stdio']);
  });

  it('adds the log level', () => {
    assert.deepEqual(logic.buildServerArgs('info'), ['--stdio', '--log-level', 'info']);
    for (const level of logic.LOG_LEVELS) {
      assert.deepEqual(logic.buildServerArgs(level), ['--stdio', '--log-level', level]);
    }
  });

  it('passes a tracing directive through and leaves out junk', () => {
    assert.deepEqual(logic.buildServerArgs(' okstra_lsp=debug '), ['--stdio', '--log-level', 'okstra_lsp=debug']);
    assert.deepEqual(logic.buildServerArgs('info; rm -rf /'), ['--stdio']);
    assert.deepEqual(logic.buildServerArgs(3), ['--stdio']);
  });
});

describe('resolveServer', () => {
  const posix = (files: string[], extra: Partial<logic.ResolveEnv> = {}): logic.ResolveEnv => ({
    pathVar: '/usr/local/bin:/usr/bin',
    platform: 'linux',
    home: '/home/u',
    workspaceFolder: '/ws',
    isExecutable: (p) => files.includes(p),
    ...extra,
  });
  const BUNDLED = '/ext/bundled/okstra-lsp';
  const settings = (serverPath: unknown, source?: unknown): logic.ServerSettings => ({ serverPath, source });

  it('places the bundled server in the extension, .exe on Windows', () => {
    assert.equal(logic.bundledServerPath('/ext', 'linux'), BUNDLED);
    assert.equal(logic.bundledServerPath('/ext', 'darwin'), BUNDLED);
    assert.equal(logic.bundledServerPath('C:\\ext', 'win32'), 'C:\\ext\\bundled\\okstra-lsp.exe');
  });

  it('reads okstra.server.source, bundled unless it says path', () => {
    assert.equal(logic.serverSource('path'), 'path');
    assert.equal(logic.serverSource('bundled'), 'bundled');
    assert.equal(logic.serverSource(undefined), 'bundled');
    assert.equal(logic.serverSource('PATH?'), 'bundled');
    assert.deepEqual([...logic.SERVER_SOURCES], ['bundled', 'path']);
  });

  it('uses the bundled server only without okstra.serverPath and with source bundled', () => {
    assert.equal(logic.usesBundled(settings(undefined)), true);
    assert.equal(logic.usesBundled(settings('  ', 'bundled')), true);
    assert.equal(logic.usesBundled(settings('', 'path')), false);
    assert.equal(logic.usesBundled(settings('/opt/okstra-lsp')), false);
  });

  it('runs the bundled server by default, before any on PATH', () => {
    const env = posix([BUNDLED, '/usr/bin/okstra-lsp'], { bundledPath: BUNDLED });
    const r = logic.resolveServer(settings(''), env);
    assert.deepEqual(r, { ok: true, command: BUNDLED, via: 'bundled' });
    assert.deepEqual(logic.resolveServer(settings(undefined, 'bundled'), env), r);
    assert.equal(logic.fallbackWarning(r), undefined);
  });

  it('okstra.serverPath wins over the bundled server', () => {
    const env = posix([BUNDLED, '/opt/okstra-lsp'], { bundledPath: BUNDLED });
    assert.deepEqual(logic.resolveServer(settings('/opt/okstra-lsp', 'bundled'), env), {
      ok: true,
      command: '/opt/okstra-lsp',
      via: 'serverPath',
    });
  });

  it('source path skips the bundled server: PATH, first folder first', () => {
    const env = posix([BUNDLED, '/usr/bin/okstra-lsp', '/usr/local/bin/okstra-lsp'], { bundledPath: BUNDLED });
    assert.deepEqual(logic.resolveServer(settings('', 'path'), env), {
      ok: true,
      command: '/usr/local/bin/okstra-lsp',
      via: 'PATH',
    });
  });

  it('source path falls back to ~/.cargo/bin after PATH', () => {
    const env = posix([BUNDLED, '/home/u/.cargo/bin/okstra-lsp'], {
      bundledPath: BUNDLED,
      cargoBin: '/home/u/.cargo/bin',
    });
    assert.deepEqual(logic.resolveServer(settings(undefined, 'path'), env), {
      ok: true,
      command: '/home/u/.cargo/bin/okstra-lsp',
      via: '~/.cargo/bin',
    });
  });

  it('a cargo bin folder that is also on PATH counts as PATH', () => {
    const env = posix(['/home/u/.cargo/bin/okstra-lsp'], {
      pathVar: '/home/u/.cargo/bin:/usr/bin',
      cargoBin: '/home/u/.cargo/bin',
    });
    assert.deepEqual(logic.resolveServer(settings('', 'path'), env), {
      ok: true,
      command: '/home/u/.cargo/bin/okstra-lsp',
      via: 'PATH',
    });
  });

  it('a missing bundled server falls back to PATH, with a warning', () => {
    const env = posix(['/usr/bin/okstra-lsp'], { bundledPath: BUNDLED });
    const r = logic.resolveServer(settings(''), env);
    assert.deepEqual(r, { ok: true, command: '/usr/bin/okstra-lsp', via: 'PATH', fallback: { missing: BUNDLED } });
    assert.equal(
      logic.fallbackWarning(r),
      'okstra: this package of the extension has no bundled server (/ext/bundled/okstra-lsp); using ' +
        '/usr/bin/okstra-lsp from PATH instead. Install the extension\'s package for your platform, ' +
        'or set okstra.server.source to "path" to silence this.',
    );
  });

  it('a missing bundled server falls back to ~/.cargo/bin too', () => {
    const env = posix(['/c/bin/okstra-lsp'], { bundledPath: BUNDLED, cargoBin: '/c/bin' });
    assert.deepEqual(logic.resolveServer(settings(''), env), {
      ok: true,
      command: '/c/bin/okstra-lsp',
      via: '~/.cargo/bin',
      fallback: { missing: BUNDLED },
    });
  });

  it('a bundled server that is not executable counts as missing', () => {
    // isExecutable says no: the extension chmods it first, so this is a real failure.
    const env = posix(['/usr/bin/okstra-lsp'], { bundledPath: BUNDLED });
    const r = logic.resolveServer(settings(''), env);
    assert.ok(r.ok && r.fallback);
  });

  it('reports what it searched when no server is anywhere', () => {
    const r = logic.resolveServer(settings('  '), posix([], { bundledPath: BUNDLED, cargoBin: '/home/u/.cargo/bin' }));
    assert.deepEqual(r, {
      ok: false,
      configured: undefined,
      searched: [BUNDLED, '/usr/local/bin/okstra-lsp', '/usr/bin/okstra-lsp', '/home/u/.cargo/bin/okstra-lsp'],
      missingBundled: BUNDLED,
    });
    assert.equal(
      logic.serverNotFoundMessage(r),
      'okstra: this package of the extension has no bundled server (/ext/bundled/okstra-lsp), and the ' +
        '`okstra-lsp` server binary was not found on PATH or in ~/.cargo/bin. ' +
        'Install it with `cargo install --path server` from the okstra-lsp repository root ' +
        '(it lands in ~/.cargo/bin), or set `okstra.serverPath` to the binary.',
    );
  });

  it('with source path, a missing server does not mention the bundled one', () => {
    const r = logic.resolveServer(settings('', 'path'), posix([], { bundledPath: BUNDLED }));
    assert.deepEqual(r, {
      ok: false,
      configured: undefined,
      searched: ['/usr/local/bin/okstra-lsp', '/usr/bin/okstra-lsp'],
    });
    assert.equal(
      logic.serverNotFoundMessage(r),
      'okstra: the `okstra-lsp` server binary was not found on PATH or in ~/.cargo/bin. ' +
        'Install it with `cargo install --path server` from the okstra-lsp repository root ' +
        '(it lands in ~/.cargo/bin), or set `okstra.serverPath` to the binary.',
    );
  });

  it('uses okstra.serverPath, expanding ~ and relative paths', () => {
    const env = posix(['/home/u/bin/okstra-lsp', '/ws/target/release/okstra-lsp', '/opt/okstra-lsp']);
    assert.deepEqual(logic.resolveServer(settings('~/bin/okstra-lsp'), env), {
      ok: true,
      command: '/home/u/bin/okstra-lsp',
      via: 'serverPath',
    });
    assert.deepEqual(logic.resolveServer(settings('target/release/okstra-lsp'), env), {
      ok: true,
      command: '/ws/target/release/okstra-lsp',
      via: 'serverPath',
    });
    assert.deepEqual(logic.resolveServer(settings('/opt/okstra-lsp'), env), {
      ok: true,
      command: '/opt/okstra-lsp',
      via: 'serverPath',
    });
  });

  it('does not fall back to the bundled server or PATH when okstra.serverPath is wrong', () => {
    const r = logic.resolveServer(
      settings('/nope/okstra-lsp'),
      posix([BUNDLED, '/usr/bin/okstra-lsp'], { bundledPath: BUNDLED }),
    );
    assert.deepEqual(r, { ok: false, configured: '/nope/okstra-lsp', searched: ['/nope/okstra-lsp'] });
    assert.match(logic.serverNotFoundMessage(r), /okstra\.serverPath was not found: \/nope\/okstra-lsp\. Install it/);
  });

  it('tries PATHEXT on Windows', () => {
    const env: logic.ResolveEnv = {
      pathVar: 'C:\\a;C:\\b',
      pathExt: '.COM;.EXE',
      platform: 'win32',
      home: 'C:\\Users\\u',
      workspaceFolder: undefined,
      isExecutable: (p) => p === 'C:\\b\\okstra-lsp.exe',
    };
    assert.deepEqual(logic.resolveServer(settings('', 'path'), env), {
      ok: true,
      command: 'C:\\b\\okstra-lsp.exe',
      via: 'PATH',
    });
  });

  it('finds the bundled okstra-lsp.exe on Windows', () => {
    const bundled = logic.bundledServerPath('C:\\ext', 'win32');
    const env: logic.ResolveEnv = {
      pathVar: 'C:\\a',
      platform: 'win32',
      home: 'C:\\Users\\u',
      workspaceFolder: undefined,
      bundledPath: bundled,
      isExecutable: (p) => p === bundled,
    };
    assert.deepEqual(logic.resolveServer(settings(''), env), { ok: true, command: bundled, via: 'bundled' });
  });
});

describe('server info', () => {
  const bundled: logic.ResolvedServer = { ok: true, command: '/ext/bundled/okstra-lsp', via: 'bundled' };
  const fallback: logic.ResolvedServer = {
    ok: true,
    command: '/usr/bin/okstra-lsp',
    via: 'PATH',
    fallback: { missing: '/ext/bundled/okstra-lsp' },
  };

  it('reads the first line of --version', () => {
    assert.equal(logic.parseVersionOutput('okstra-lsp 0.1.0\n'), 'okstra-lsp 0.1.0');
    assert.equal(logic.parseVersionOutput('\r\n  okstra-lsp 0.2.0  \r\nmore\r\n'), 'okstra-lsp 0.2.0');
    assert.equal(logic.parseVersionOutput(''), undefined);
  });

  it('says how the binary was found', () => {
    assert.equal(logic.describeVia(bundled as logic.ResolvedServer & { ok: true }), 'bundled with the extension');
    assert.equal(
      logic.describeVia({ ok: true, command: '/x', via: 'serverPath' }),
      'okstra.serverPath',
    );
    assert.equal(logic.describeVia({ ok: true, command: '/x', via: '~/.cargo/bin' }), 'found in ~/.cargo/bin');
    assert.equal(
      logic.describeVia(fallback as logic.ResolvedServer & { ok: true }),
      'found on PATH (fallback: the bundled server is missing)',
    );
  });

  it('puts the binary and its version in the status bar tooltip', () => {
    const view = logic.formatStatusBar(PREVIEW);
    const info = { resolved: bundled, version: 'okstra-lsp 0.1.0' };
    assert.deepEqual(logic.withServerInfo(view, info), {
      ...view,
      tooltip: `${view.tooltip}\nServer: okstra-lsp 0.1.0 — /ext/bundled/okstra-lsp (bundled with the extension)`,
    });
    assert.equal(
      logic.withServerInfo(view, { resolved: fallback }).tooltip.split('\n').at(-1),
      'Server: (version pending) — /usr/bin/okstra-lsp (found on PATH (fallback: the bundled server is missing))',
    );
    const hidden = { visible: false, text: '', tooltip: '' };
    assert.deepEqual(logic.withServerInfo(hidden, info), hidden);
    assert.equal(logic.serverInfoLine(undefined), 'Server: not started');
  });

  it('formats okstra: Show Server Info', () => {
    assert.deepEqual(logic.formatServerInfo({ resolved: bundled, version: 'okstra-lsp 0.1.0' }), [
      'binary: /ext/bundled/okstra-lsp',
      'resolved: bundled with the extension',
      'version: okstra-lsp 0.1.0',
    ]);
    assert.deepEqual(logic.formatServerInfo({ resolved: fallback, version: 'okstra-lsp 0.1.0' }), [
      'binary: /usr/bin/okstra-lsp',
      'resolved: found on PATH (fallback: the bundled server is missing)',
      'version: okstra-lsp 0.1.0',
      'bundled server missing: /ext/bundled/okstra-lsp',
    ]);
    const missing = logic.formatServerInfo({
      resolved: { ok: false, configured: undefined, searched: ['/a/okstra-lsp', '/b/okstra-lsp'] },
    });
    assert.equal(missing.length, 2);
    assert.match(missing[0], /^okstra: the `okstra-lsp` server binary was not found/);
    assert.equal(missing[1], 'searched: /a/okstra-lsp, /b/okstra-lsp');
    assert.deepEqual(logic.formatServerInfo(undefined), ['okstra: the server has not been resolved yet.']);
  });
});

describe('buildBatchArgs', () => {
  it('sends stage auto with the budget and includeStarted settings', () => {
    assert.deepEqual(logic.buildBatchArgs('file:///p/plan.md', { runBudget: 8, includeStarted: false }), {
      uri: 'file:///p/plan.md',
      stage: 'auto',
      budget: 8,
      includeStarted: false,
    });
  });

  it('adds the trimmed impl task key to reserve', () => {
    assert.deepEqual(logic.buildBatchArgs('file:///p/plan.md', { runBudget: 5, includeStarted: true }, ' impl-a '), {
      uri: 'file:///p/plan.md',
      stage: 'auto',
      budget: 5,
      includeStarted: true,
      implTaskKey: 'impl-a',
    });
  });

  it('leaves out unusable settings so the server uses its own', () => {
    assert.deepEqual(logic.buildBatchArgs('file:///p.md', { runBudget: 0, includeStarted: 'yes' }), {
      uri: 'file:///p.md',
      stage: 'auto',
    });
    assert.deepEqual(logic.buildBatchArgs('file:///p.md', { runBudget: 2.5, includeStarted: undefined }), {
      uri: 'file:///p.md',
      stage: 'auto',
    });
  });
});

describe('mergeCommandArg', () => {
  const defaults: logic.BatchArgs = { uri: 'file:///a.md', stage: 'auto', budget: 8, includeStarted: false };

  it('lets the code lens argument win', () => {
    assert.deepEqual(logic.mergeCommandArg({ uri: 'file:///b.md', stage: 3 }, defaults), {
      uri: 'file:///b.md',
      stage: 3,
      budget: 8,
      includeStarted: false,
    });
  });

  it('ignores null values and non-objects', () => {
    assert.deepEqual(logic.mergeCommandArg({ uri: 'file:///b.md', budget: null }, defaults), {
      ...defaults,
      uri: 'file:///b.md',
    });
    assert.deepEqual(logic.mergeCommandArg(undefined, defaults), defaults);
    assert.deepEqual(logic.mergeCommandArg('file:///x.md', defaults), defaults);
  });
});

describe('validateImplTaskKey', () => {
  it('accepts a key without whitespace', () => {
    assert.equal(logic.validateImplTaskKey('impl-a'), undefined);
    assert.equal(logic.validateImplTaskKey('  impl_2026-01  '), undefined);
  });

  it('refuses empty keys and inner whitespace', () => {
    assert.equal(logic.validateImplTaskKey(''), 'Enter the impl task key (e.g. impl-a).');
    assert.equal(logic.validateImplTaskKey('   '), 'Enter the impl task key (e.g. impl-a).');
    assert.equal(logic.validateImplTaskKey('impl a'), 'The impl task key must not contain whitespace.');
    assert.equal(logic.validateImplTaskKey('impl\ta'), 'The impl task key must not contain whitespace.');
  });
});

describe('status bar', () => {
  it('shows the next batch and its steps, with the server summary as tooltip', () => {
    const v = logic.formatStatusBar(PREVIEW);
    assert.equal(v.visible, true);
    assert.equal(v.text, 'okstra: next 2, 3 (6/8)');
    assert.equal(v.tooltip, `${PREVIEW.summary}\nClick to preview the run batch.`);
  });

  it('shows a single stage', () => {
    const one = { stages: [7], totalSteps: 3, budget: 8, summary: 'Next run: stage 7 — 3/8 steps' };
    assert.equal(logic.formatStatusBar(one).text, 'okstra: next 7 (3/8)');
  });

  it('hides on markdown that is not a plan (by the error kind, whatever the words)', () => {
    const v = logic.formatStatusBarError('file:///README.md is not a plan: it has no Stage Map', 'not-a-plan');
    assert.deepEqual(v, { visible: false, text: '', tooltip: '' });
    assert.equal(logic.formatStatusBarError('anything at all', 'not-a-plan').visible, false);
    assert.equal(logic.formatStatusBarError('x is not a plan', undefined).visible, true);
  });

  it('hides while the client is not running', () => {
    assert.equal(logic.formatStatusBarError('Client is not running', undefined).visible, false);
  });

  it('says why no batch is selectable', () => {
    const blocked = 'no stage is ready: every remaining stage has unsatisfied depends-on';
    assert.deepEqual(logic.formatStatusBarError(blocked, 'no-stage-ready'), {
      visible: true,
      text: 'okstra: no stage ready',
      tooltip: blocked,
    });
    assert.equal(
      logic.formatStatusBarError(`${blocked}; every stage is done`, 'all-stages-done').text,
      'okstra: all stages done',
    );
    assert.deepEqual(
      logic.formatStatusBarError('/p/plan.md: a plan must sit two folders below its run root', 'not-in-a-run-folder'),
      {
        visible: true,
        text: 'okstra: no batch',
        tooltip: '/p/plan.md: a plan must sit two folders below its run root',
      },
    );
  });
});

describe('messages', () => {
  it('formats a preview from the server summary', () => {
    assert.equal(
      logic.formatPreviewMessage(PREVIEW),
      'okstra: Next run: stages 2, 3 — 6/8 steps · ready: 2, 3, 5 · done: 1 · ' +
        'started: 4 (by impl-a) · blocked: 6 (waiting on 4)',
    );
  });

  it('counts unreadable consumers lines', () => {
    assert.equal(
      logic.formatPreviewMessage({
        stages: [1],
        totalSteps: 4,
        budget: 8,
        summary: 'Next run: stage 1 — 4/8 steps\nready:   (none)',
        invalidLines: [
          { line: 3, reason: 'not JSON' },
          { line: 9, reason: 'no stage' },
        ],
      }),
      'okstra: Next run: stage 1 — 4/8 steps · ready: (none) (2 unreadable lines in consumers.jsonl ignored)',
    );
  });

  it('formats a reservation', () => {
    assert.equal(
      logic.formatReserveMessage(RESERVATION, 'impl-b'),
      'okstra: reserved for impl-b. Next run: stages 2, 3 — 6/8 steps · ready: 2, 3, 5 · done: 1 · ' +
        'started: 4 (by impl-a) · blocked: 6 (waiting on 4) · reserved in /abs/runs/x/consumers.jsonl',
    );
  });

  it('writes details for the output channel', () => {
    assert.deepEqual(
      logic.formatDetails('reserve', 'file:///abs/runs/x/d/plan.md', {
        ...RESERVATION,
        notes: ['/abs/runs/x/consumers.jsonl:4: skipped: not JSON'],
      }),
      [
        '[reserve] file:///abs/runs/x/d/plan.md',
        '  Next run: stages 2, 3 — 6/8 steps',
        '  ready:   2, 3, 5',
        '  done:    1',
        '  started: 4 (by impl-a)',
        '  blocked: 6 (waiting on 4)',
        '  reserved in /abs/runs/x/consumers.jsonl',
        '  /abs/runs/x/consumers.jsonl:4: skipped: not JSON',
        '  appended 2 rows:',
        '    {"impl_task_key":"impl-b","stage":2,"status":"started","started_at":"2026-01-01T00:00:00Z","head_commit":"abc"}',
        '    {"impl_task_key":"impl-b","stage":3,"status":"started","started_at":"2026-01-01T00:00:00Z","head_commit":"abc"}',
      ],
    );
    assert.deepEqual(
      logic.formatDetails('preview', 'file:///p.md', {
        stages: [1],
        totalSteps: 1,
        budget: 8,
        consumersPath: '/r/consumers.jsonl',
        summary: 'Next run: stage 1 — 1/8 steps\nready:   1',
      }),
      ['[preview] file:///p.md', '  Next run: stage 1 — 1/8 steps', '  ready:   1', '  consumers: /r/consumers.jsonl'],
    );
  });

  it('takes the headline for the reserve prompt', () => {
    assert.equal(logic.summaryHeadline(PREVIEW), 'Next run: stages 2, 3 — 6/8 steps');
  });
});

describe('errors and results', () => {
  it('takes the message of a ResponseError-like value', () => {
    const e = Object.assign(new Error('no stage is ready: every stage is done'), { code: -32803 });
    assert.equal(logic.errorMessage(e), 'no stage is ready: every stage is done');
    assert.equal(logic.errorMessage({ code: -32602, message: 'okstra.reserveRunBatch needs implTaskKey' }), 'okstra.reserveRunBatch needs implTaskKey');
    assert.equal(logic.errorMessage('plain'), 'plain');
    assert.equal(logic.errorMessage(42), '42');
  });

  it('takes the kind from the error data', () => {
    assert.equal(logic.errorKind({ code: -32803, message: 'x', data: { kind: 'not-a-plan' } }), 'not-a-plan');
    const e = Object.assign(new Error('no stage is ready'), { code: -32803, data: { kind: 'no-stage-ready' } });
    assert.equal(logic.errorKind(e), 'no-stage-ready');
    assert.equal(logic.errorKind({ code: -32602, message: 'unknown command' }), undefined);
    assert.equal(logic.errorKind({ data: { kind: 5 } }), undefined);
    assert.equal(logic.errorKind({ data: null }), undefined);
    assert.equal(logic.errorKind('not-a-plan'), undefined);
    assert.equal(logic.errorKind(null), undefined);
  });

  it('checks the shape of a batch', () => {
    assert.equal(logic.isRunBatch(PREVIEW), true);
    assert.equal(logic.isRunBatch(RESERVATION), true);
    assert.equal(logic.isRunBatch(null), false);
    assert.equal(logic.isRunBatch({ stages: [1] }), false);
    assert.equal(logic.isRunBatch({ stages: [1], totalSteps: 1, budget: 8 }), false, 'no summary');
  });
});

describe('parseServerLogLine', () => {
  it('strips the timestamp and keeps the level', () => {
    assert.deepEqual(logic.parseServerLogLine('2026-11-25T00:35:53.826407Z  INFO okstra_lsp::lsp: initialize encoding=Utf16'), {
      level: 'info',
      message: 'okstra_lsp::lsp: initialize encoding=Utf16',
    });
    assert.deepEqual(logic.parseServerLogLine('2026-11-25T00:35:53.826407Z  WARN okstra_lsp::lsp: okstra.cap must be at least 1; using 6'), {
      level: 'warn',
      message: 'okstra_lsp::lsp: okstra.cap must be at least 1; using 6',
    });
    assert.deepEqual(logic.parseServerLogLine('2026-11-25T00:35:53Z ERROR okstra_lsp: internal error'), {
      level: 'error',
      message: 'okstra_lsp: internal error',
    });
  });

  it('logs debug and trace at info, keeping their level in the text', () => {
    assert.deepEqual(logic.parseServerLogLine('2026-11-25T00:35:53.1Z DEBUG okstra_lsp::lsp: workspace/configuration failed'), {
      level: 'info',
      message: 'DEBUG okstra_lsp::lsp: workspace/configuration failed',
    });
    assert.deepEqual(logic.parseServerLogLine('TRACE x: y'), { level: 'info', message: 'TRACE x: y' });
  });

  it('keeps anything else as an error', () => {
    assert.deepEqual(logic.parseServerLogLine("thread 'main' panicked at src/main.rs:1:1"), {
      level: 'error',
      message: "thread 'main' panicked at src/main.rs:1:1",
    });
  });
});

describe('debounce', () => {
  it('runs once with the last arguments after the quiet period', () => {
    const pending = new Map<number, () => void>();
    let next = 0;
    const timers = {
      set: (f: () => void) => {
        pending.set(++next, f);
        return next;
      },
      clear: (h: unknown) => {
        pending.delete(h as number);
      },
    };
    const calls: string[] = [];
    const d = logic.debounce((s: string) => calls.push(s), 250, timers);
    d('a');
    d('b');
    d('c');
    assert.equal(pending.size, 1);
    const fire = () => {
      const due = [...pending.values()];
      pending.clear();
      for (const f of due) f();
    };
    fire();
    assert.deepEqual(calls, ['c']);
    d('y');
    fire();
    assert.deepEqual(calls, ['c', 'y']);
    d('x');
    d.cancel();
    assert.equal(pending.size, 0);
    fire();
    assert.deepEqual(calls, ['c', 'y']);
  });
});

describe('latestOnly', () => {
  it('says which request is the latest, whatever order the answers come in', () => {
    const latest = logic.latestOnly();
    const first = latest.begin();
    assert.equal(first(), true);
    const second = latest.begin();
    // The first answer arrives after the second request started: dropped.
    assert.equal(first(), false);
    assert.equal(second(), true);
    const third = latest.begin();
    assert.equal(second(), false);
    assert.equal(third(), true);
    // Separate trackers do not interfere.
    const other = logic.latestOnly().begin();
    assert.equal(third(), true);
    assert.equal(other(), true);
  });
});

describe('restart settings', () => {
  it('restarts for the command line and the selector only', () => {
    assert.deepEqual([...logic.RESTART_SETTINGS].sort(), [
      'okstra.logLevel',
      'okstra.planGlobs',
      'okstra.server.source',
      'okstra.serverPath',
    ]);
  });
});

describe('stage graph', () => {
  const NONCE = 'r4nd0mN0nce+/AbC';
  // The shape of the server's SVG: one `<g data-stage="N">` per stage, the plan's text escaped.
  const SVG =
    '<svg xmlns="http://www.w3.org/2000/svg" width="200" height="100" viewBox="0 0 200 100">\n' +
    '<title>Stage graph: a &lt;b&gt;</title>\n' +
    '<g class="stage ready" data-stage="1" id="stage-1"><title>Stage 1</title><rect width="10" height="10"/>' +
    '<text x="1" y="1">Fix &amp; test</text></g>\n' +
    '<g class="stage blocked" data-stage="2" id="stage-2"><rect width="10" height="10"/><text>Wire</text></g>\n' +
    '</svg>\n';
  const page = (p: Partial<logic.StageGraphPage>) => logic.buildStageGraphHtml({ nonce: NONCE, planName: 'plan.md', ...p });
  /** The page without the embedded SVG (the part the extension writes). */
  const ownMarkup = (html: string) => html.replace(/<svg[\s\S]*<\/svg>/, '');

  it('has a strict content security policy with the nonce', () => {
    const html = page({ svg: SVG });
    const csp = [...html.matchAll(/<meta http-equiv="Content-Security-Policy" content="([^"]*)">/g)];
    assert.equal(csp.length, 1);
    assert.equal(
      csp[0][1],
      `default-src 'none'; img-src data:; style-src 'nonce-${NONCE}'; script-src 'nonce-${NONCE}';`,
    );
    assert.equal(logic.stageGraphCsp(NONCE), csp[0][1]);
    assert.doesNotMatch(html, /unsafe-inline|unsafe-eval/);
    // The CSP comes before anything that could load or run.
    assert.ok(html.indexOf('Content-Security-Policy') < html.indexOf('<style'));
  });

  it('puts the nonce on its only script and style', () => {
    const html = page({ svg: SVG });
    assert.deepEqual([...html.matchAll(/<script\b[^>]*>/g)].map((m) => m[0]), [`<script nonce="${NONCE}">`]);
    assert.deepEqual([...html.matchAll(/<style\b[^>]*>/g)].map((m) => m[0]), [`<style nonce="${NONCE}">`]);
  });

  it('loads nothing: no URLs but the SVG namespace, no inline event handlers', () => {
    for (const html of [page({ svg: SVG }), page({ error: 'not a plan' })]) {
      const urls = [...html.matchAll(/(?:https?:|\/\/)[^\s"'<>)]*/g)].map((m) => m[0]);
      assert.ok(urls.every((u) => u === 'http://www.w3.org/2000/svg'), urls.join(', '));
      assert.doesNotMatch(html, /\b(?:src|href)\s*=/i);
      assert.doesNotMatch(ownMarkup(html), /\son[a-z]+\s*=/i);
    }
  });

  it('embeds the server SVG as markup', () => {
    const html = page({ svg: SVG });
    assert.ok(html.includes(SVG.trimEnd()), html);
    assert.match(html, /<main class="graph">\n<svg /);
    assert.ok(html.includes('data-stage="1"') && html.includes('data-stage="2"'));
  });

  it('drops an XML declaration before the SVG', () => {
    const html = page({ svg: `<?xml version="1.0" encoding="UTF-8"?>\n<!-- okstra -->\n${SVG}` });
    assert.ok(!html.includes('<?xml'), html);
    assert.ok(html.includes(SVG.trimEnd()));
  });

  it('never embeds an answer that is not an SVG document', () => {
    for (const svg of ['<script>alert(1)</script>', 'text<svg></svg>', '<svg></svg><script>alert(1)</script>', '<svgx></svgx>', '<svgx onload="alert(1)"></svg>', '<svg><script>alert(1)</script></svg>']) {
      assert.equal(logic.svgMarkup(svg), undefined, svg);
      const html = page({ svg });
      assert.ok(!html.includes('alert(1)') && !html.includes('<svgx'), html);
      assert.match(html, /not an SVG graph/);
    }
  });

  it('escapes the error message and the plan name', () => {
    const html = page({ error: 'not a plan: <img src=x onerror="alert(1)"> & \'q\'', planName: '<b>.md' });
    assert.ok(
      html.includes(
        '<main class="error" role="alert">okstra: not a plan: &#60;img src=x onerror=&#34;alert(1)&#34;&#62; &#38; &#39;q&#39;</main>',
      ),
      html,
    );
    assert.ok(html.includes('<title>Stage Graph: &#60;b&#62;.md</title>'));
    assert.ok(!html.includes('<img') && !html.includes('<b>'));
  });

  it("shows the server's note above the graph, escaped", () => {
    const html = page({ svg: SVG, note: 'consumers.jsonl: <unreadable> & "odd"' });
    assert.ok(
      html.includes('<p class="note">okstra: consumers.jsonl: &#60;unreadable&#62; &#38; &#34;odd&#34;</p>\n<main class="graph">'),
      html,
    );
    assert.ok(!page({ svg: SVG, note: null }).includes('class="note"'));
  });

  it('refuses a nonce that could break out of the attribute', () => {
    assert.throws(() => page({ nonce: 'x" onload="alert(1)' }));
    assert.throws(() => page({ nonce: '' }));
  });

  /** Runs the page's script against a minimal DOM: what it posts for each event. */
  function runScript(html: string) {
    const script = /<script nonce="[^"]*">([\s\S]*?)<\/script>/.exec(html)?.[1];
    assert.ok(script);
    class Element {
      attrs = new Map<string, string>();
      constructor(
        readonly parent: Element | undefined,
        stage?: string,
      ) {
        if (stage !== undefined) this.attrs.set('data-stage', stage);
      }
      getAttribute(n: string) {
        return this.attrs.get(n) ?? null;
      }
      setAttribute(n: string, v: string) {
        this.attrs.set(n, v);
      }
      closest(sel: string): Element | null {
        assert.equal(sel, '[data-stage]');
        for (let e: Element | undefined = this; e; e = e.parent) if (e.attrs.has('data-stage')) return e;
        return null;
      }
    }
    const svg = new Element(undefined);
    const stage2 = new Element(svg, '2');
    const text = new Element(stage2);
    const handlers = new Map<string, (e: unknown) => void>();
    const posted: unknown[] = [];
    const document = {
      querySelectorAll: (sel: string) => (sel === '.graph [data-stage]' ? [stage2] : []),
      addEventListener: (type: string, f: (e: unknown) => void) => handlers.set(type, f),
    };
    new Function('acquireVsCodeApi', 'document', 'Element', script)(
      () => ({ postMessage: (m: unknown) => posted.push(m) }),
      document,
      Element,
    );
    return { posted, handlers, svg, stage2, text };
  }

  it('posts the stage of a clicked node (or its ancestor), and on Enter', () => {
    const { posted, handlers, svg, stage2, text } = runScript(page({ svg: SVG }));
    assert.equal(stage2.getAttribute('tabindex'), '0');
    assert.equal(stage2.getAttribute('role'), 'button');
    handlers.get('click')?.({ target: text });
    handlers.get('click')?.({ target: svg });
    handlers.get('click')?.({ target: 'not an element' });
    assert.deepEqual(posted, [{ type: 'reveal', stage: 2 }]);
    let prevented = 0;
    handlers.get('keydown')?.({ key: 'Enter', target: stage2, preventDefault: () => prevented++ });
    handlers.get('keydown')?.({ key: 'a', target: stage2, preventDefault: () => prevented++ });
    handlers.get('keydown')?.({ key: ' ', target: svg, preventDefault: () => prevented++ });
    assert.deepEqual(posted, [{ type: 'reveal', stage: 2 }, { type: 'reveal', stage: 2 }]);
    assert.equal(prevented, 1);
  });

  it('reads the webview messages', () => {
    assert.deepEqual(logic.parseGraphMessage({ type: 'reveal', stage: 2 }), { type: 'reveal', stage: 2 });
    for (const m of [null, 'reveal', { type: 'reveal' }, { type: 'reveal', stage: '2' }, { type: 'reveal', stage: 1.5 }, { type: 'x', stage: 1 }]) {
      assert.equal(logic.parseGraphMessage(m), undefined, JSON.stringify(m));
    }
  });

  it('maps a stage to its heading range', () => {
    const r = (line: number) => ({ start: { line, character: 0 }, end: { line, character: 20 } });
    const anchors = [
      { stage: 1, range: r(10) },
      { stage: 2, range: r(18) },
    ];
    assert.deepEqual(logic.anchorFor(anchors, 2), r(18));
    assert.equal(logic.anchorFor(anchors, 3), undefined);
  });

  it('checks the shape of a graph answer', () => {
    const range = { start: { line: 1, character: 0 }, end: { line: 1, character: 4 } };
    assert.ok(logic.isStageGraph({ svg: SVG, mermaid: 'graph TD', anchors: [{ stage: 1, range }], version: 3 }));
    assert.ok(logic.isStageGraph({ svg: SVG, mermaid: '', anchors: [], version: null }));
    assert.ok(!logic.isStageGraph(null));
    assert.ok(!logic.isStageGraph({ svg: 1, anchors: [] }));
    assert.ok(!logic.isStageGraph({ svg: SVG, anchors: [{ stage: 1 }] }));
    assert.ok(!logic.isStageGraph({ svg: SVG, anchors: [{ stage: '1', range }] }));
  });

  it('builds the command argument', () => {
    assert.deepEqual(logic.buildStageGraphArgs('file:///p.md', true), { uri: 'file:///p.md', includeStarted: true });
    assert.deepEqual(logic.buildStageGraphArgs('file:///p.md', undefined), { uri: 'file:///p.md' });
    assert.equal(logic.STAGE_GRAPH_COMMAND, 'okstra.stageGraph');
  });
});
