/**
 * The extension's pure logic: settings → server command line and document
 * selector, batch results → status-bar and message text (around the
 * `summary` the server renders), input validation.
 *
 * Invariant: no `vscode` import and no I/O (file checks are passed in), so
 * everything here runs under `node --test` without VS Code.
 */

import * as path from 'node:path';

// ---------------------------------------------------------------------------
// The server's results (camelCase JSON, see server/src/run/service.rs Preview
// and Reservation, and docs/commands/serve.md).

export interface StartedStage {
  stage: number;
  implTaskKey: string;
}

export interface BlockedStage {
  stage: number;
  waitingOn: number[];
}

export interface InvalidLine {
  line: number;
  reason: string;
}

/** `okstra.previewRunBatch`'s result. */
export interface RunBatch {
  stages: number[];
  totalSteps: number;
  budget: number;
  ready?: number[];
  done?: number[];
  started?: StartedStage[];
  blocked?: BlockedStage[];
  /** Entries the server left off each list (its `limit`, 100 by default); absent when none. */
  omitted?: { ready: number; done: number; started: number; blocked: number };
  consumersPath?: string;
  invalidLines?: InvalidLine[];
  /** The server's text summary (what `okstra-lsp batch preview` prints), lines split by `\n`. */
  summary: string;
  /** One line per skipped line of consumers.jsonl. */
  notes?: string[];
}

/** `okstra.reserveRunBatch`'s result: the batch plus the rows it appended. */
export interface Reservation extends RunBatch {
  consumersPath: string;
  rows: Record<string, unknown>[];
}

/** The argument object of both server commands. */
export interface BatchArgs {
  uri: string;
  stage: 'auto' | number;
  budget?: number;
  includeStarted?: boolean;
  implTaskKey?: string;
}

export const PREVIEW_COMMAND = 'okstra.previewRunBatch';
export const RESERVE_COMMAND = 'okstra.reserveRunBatch';

// ---------------------------------------------------------------------------
// Settings → document selector and server command line.

export const DEFAULT_PLAN_GLOBS: readonly string[] = ['**/*.md'];

export interface DocumentFilter {
  scheme: 'file';
  language: 'markdown';
  pattern: string;
}

/**
 * One `{scheme: 'file', language: 'markdown', pattern}` filter per glob of
 * `okstra.planGlobs`; blanks, non-strings and duplicates are dropped, and
 * nothing usable falls back to the default `**\/*.md`.
 */
export function buildDocumentSelector(globs: unknown): DocumentFilter[] {
  const list = Array.isArray(globs) ? globs : [];
  const seen = new Set<string>();
  for (const g of list) {
    if (typeof g !== 'string') continue;
    const t = g.trim();
    if (t !== '') seen.add(t);
  }
  const patterns = seen.size > 0 ? [...seen] : [...DEFAULT_PLAN_GLOBS];
  return patterns.map((pattern) => ({ scheme: 'file', language: 'markdown', pattern }));
}

export const LOG_LEVELS = ['error', 'warn', 'info', 'debug', 'trace'] as const;

/**
 * `["--stdio"]`, plus `--log-level <level>` when `okstra.logLevel` is set.
 * Besides the five levels, a tracing directive such as `okstra_lsp=debug` is
 * passed through; anything with spaces or odd characters is left out (the
 * server would refuse to start on it).
 */
export function buildServerArgs(logLevel: unknown): string[] {
  const args = ['--stdio'];
  if (typeof logLevel === 'string') {
    const level = logLevel.trim();
    if (level !== '' && /^[A-Za-z0-9_=,:.\-]+$/.test(level)) {
      args.push('--log-level', level);
    }
  }
  return args;
}

/** The settings whose change needs a new server process. */
export const RESTART_SETTINGS: readonly string[] = [
  'okstra.serverPath',
  'okstra.server.source',
  'okstra.planGlobs',
  'okstra.logLevel',
];

export interface ResolveEnv {
  /** The `PATH` variable. */
  pathVar: string | undefined;
  /** `PATHEXT` (Windows only). */
  pathExt?: string | undefined;
  platform: string;
  home: string | undefined;
  /** The first workspace folder, for a relative `okstra.serverPath`. */
  workspaceFolder: string | undefined;
  /** `~/.cargo/bin` (or `$CARGO_HOME/bin`), where `cargo install` puts it; searched after `PATH`. */
  cargoBin?: string | undefined;
  /** The server inside the extension (`bundledServerPath`); absent in a package without one. */
  bundledPath?: string | undefined;
  /** Whether a path is an existing (executable) file. */
  isExecutable: (p: string) => boolean;
}

export const SERVER_BINARY = 'okstra-lsp';

/** `okstra.server.source`: the extension's own server, or one found on `PATH`. */
export const SERVER_SOURCES = ['bundled', 'path'] as const;
export type ServerSource = (typeof SERVER_SOURCES)[number];

/** How the server binary was found. */
export type ServerVia = 'serverPath' | 'bundled' | 'PATH' | '~/.cargo/bin';

export type ResolvedServer =
  | {
      ok: true;
      command: string;
      via: ServerVia;
      /** `okstra.server.source` is `bundled` but the extension has no (runnable) server: this is the fallback. */
      fallback?: { missing: string };
    }
  | {
      ok: false;
      configured: string | undefined;
      searched: string[];
      /** The bundled server that was looked for first, when there was one to look for. */
      missingBundled?: string;
    };

/** The bundled server's place inside the extension (`bundled/okstra-lsp`, `.exe` on Windows). */
export function bundledServerPath(extensionPath: string, platform: string): string {
  const p = platform === 'win32' ? path.win32 : path.posix;
  return p.join(extensionPath, 'bundled', platform === 'win32' ? `${SERVER_BINARY}.exe` : SERVER_BINARY);
}

/** `okstra.server.source`, `bundled` unless it says `path`. */
export function serverSource(value: unknown): ServerSource {
  return value === 'path' ? 'path' : 'bundled';
}

export interface ServerSettings {
  /** `okstra.serverPath` */
  serverPath: unknown;
  /** `okstra.server.source` */
  source: unknown;
}

/** Whether the bundled server is the one to run (no `okstra.serverPath`, source `bundled`). */
export function usesBundled(settings: ServerSettings): boolean {
  const configured = typeof settings.serverPath === 'string' ? settings.serverPath.trim() : '';
  return configured === '' && serverSource(settings.source) === 'bundled';
}

/**
 * Finds the server binary, in this order:
 * 1. `okstra.serverPath` when set (`~/` and a relative path expanded); a
 *    wrong path is an error, not a reason to run some other binary;
 * 2. `okstra.server.source` `bundled` (the default): the server inside the
 *    extension (`env.bundledPath`);
 * 3. `okstra-lsp` on `PATH`, then in `~/.cargo/bin` — what `path` asks for,
 *    and the fallback (with `fallback` set, for a warning) when the bundled
 *    server is missing.
 */
export function resolveServer(settings: ServerSettings, env: ResolveEnv): ResolvedServer {
  const p = env.platform === 'win32' ? path.win32 : path.posix;
  const configured = typeof settings.serverPath === 'string' ? settings.serverPath.trim() : '';
  if (configured !== '') {
    let candidate = configured;
    if ((candidate === '~' || candidate.startsWith('~/') || candidate.startsWith('~\\')) && env.home) {
      candidate = p.join(env.home, candidate.slice(1));
    } else if (!p.isAbsolute(candidate) && env.workspaceFolder) {
      candidate = p.join(env.workspaceFolder, candidate);
    }
    const tries = executableNames(candidate, env);
    for (const t of tries) {
      if (env.isExecutable(t)) return { ok: true, command: t, via: 'serverPath' };
    }
    return { ok: false, configured, searched: tries };
  }
  let missingBundled: string | undefined;
  if (usesBundled(settings) && env.bundledPath) {
    if (env.isExecutable(env.bundledPath)) return { ok: true, command: env.bundledPath, via: 'bundled' };
    missingBundled = env.bundledPath;
  }
  const sep = env.platform === 'win32' ? ';' : ':';
  const pathDirs = (env.pathVar ?? '').split(sep).filter((d) => d !== '');
  const dirs: [string, ServerVia][] = pathDirs.map((d) => [d, 'PATH']);
  if (env.cargoBin) dirs.push([env.cargoBin, '~/.cargo/bin']);
  const searched: string[] = missingBundled ? [missingBundled] : [];
  const seen = new Set<string>();
  for (const [dir, via] of dirs) {
    if (seen.has(dir)) continue;
    seen.add(dir);
    for (const t of executableNames(p.join(dir, SERVER_BINARY), env)) {
      searched.push(t);
      if (env.isExecutable(t)) {
        return missingBundled
          ? { ok: true, command: t, via, fallback: { missing: missingBundled } }
          : { ok: true, command: t, via };
      }
    }
  }
  return missingBundled
    ? { ok: false, configured: undefined, searched, missingBundled }
    : { ok: false, configured: undefined, searched };
}

function executableNames(base: string, env: ResolveEnv): string[] {
  if (env.platform !== 'win32' || /\.[A-Za-z0-9]+$/.test(path.win32.basename(base))) {
    return [base];
  }
  const exts = (env.pathExt ?? '.EXE;.CMD;.BAT;.COM')
    .split(';')
    .filter((e) => e !== '')
    .map((e) => e.toLowerCase());
  return [base, ...exts.map((e) => base + e)];
}

/** The error shown when the binary is missing, with how to get it. */
export function serverNotFoundMessage(r: ResolvedServer): string {
  if (r.ok) return '';
  const hint =
    'Install it with `cargo install --path server` from the okstra-lsp repository root ' +
    '(it lands in ~/.cargo/bin), or set `okstra.serverPath` to the binary.';
  if (r.configured !== undefined) {
    return `okstra: the server binary set in okstra.serverPath was not found: ${r.configured}. ${hint}`;
  }
  const bundled = r.missingBundled
    ? `this package of the extension has no bundled server (${r.missingBundled}), and the`
    : 'the';
  return `okstra: ${bundled} \`${SERVER_BINARY}\` server binary was not found on PATH or in ~/.cargo/bin. ${hint}`;
}

/** The warning when the bundled server is missing and one from `PATH` runs instead. */
export function fallbackWarning(r: ResolvedServer): string | undefined {
  if (!r.ok || !r.fallback) return undefined;
  return (
    `okstra: this package of the extension has no bundled server (${r.fallback.missing}); ` +
    `using ${r.command} from ${r.via} instead. Install the extension's package for your platform, ` +
    'or set okstra.server.source to "path" to silence this.'
  );
}

/** "bundled with the extension", "okstra.serverPath", "PATH (bundled server missing)", … */
export function describeVia(r: ResolvedServer & { ok: true }): string {
  const how: Record<ServerVia, string> = {
    serverPath: 'okstra.serverPath',
    bundled: 'bundled with the extension',
    PATH: 'found on PATH',
    '~/.cargo/bin': 'found in ~/.cargo/bin',
  };
  return r.fallback ? `${how[r.via]} (fallback: the bundled server is missing)` : how[r.via];
}

/** What the status bar tooltip and okstra: Show Server Info say about the running binary. */
export interface ServerInfo {
  resolved: ResolvedServer;
  /** The first line of `okstra-lsp --version`, or why it could not be read; absent while it runs. */
  version?: string;
}

/** The first non-blank line of `--version`'s output. */
export function parseVersionOutput(stdout: string): string | undefined {
  const line = stdout.split(/\r?\n/).find((l) => l.trim() !== '');
  return line?.trim();
}

/** One line for the status bar tooltip: "Server: okstra-lsp 0.1.0 — /x/okstra-lsp (bundled with the extension)". */
export function serverInfoLine(info: ServerInfo | undefined): string {
  if (!info) return 'Server: not started';
  const r = info.resolved;
  if (!r.ok) return 'Server: not found';
  return `Server: ${info.version ?? '(version pending)'} — ${r.command} (${describeVia(r)})`;
}

/** The lines okstra: Show Server Info shows (and writes to the output channel). */
export function formatServerInfo(info: ServerInfo | undefined): string[] {
  if (!info) return ['okstra: the server has not been resolved yet.'];
  const r = info.resolved;
  if (!r.ok) {
    return [
      serverNotFoundMessage(r),
      `searched: ${r.searched.join(', ') || '(nothing)'}`,
    ];
  }
  const lines = [
    `binary: ${r.command}`,
    `resolved: ${describeVia(r)}`,
    `version: ${info.version ?? '(pending)'}`,
  ];
  if (r.fallback) lines.push(`bundled server missing: ${r.fallback.missing}`);
  return lines;
}

// ---------------------------------------------------------------------------
// Command arguments and input.

export interface BatchSettings {
  runBudget: unknown;
  includeStarted: unknown;
}

/** `{uri, stage: 'auto', budget, includeStarted}` (+ `implTaskKey` to reserve). */
export function buildBatchArgs(uri: string, settings: BatchSettings, implTaskKey?: string): BatchArgs {
  const args: BatchArgs = { uri, stage: 'auto' };
  const budget = settings.runBudget;
  if (typeof budget === 'number' && Number.isInteger(budget) && budget >= 1) {
    args.budget = budget;
  }
  if (typeof settings.includeStarted === 'boolean') {
    args.includeStarted = settings.includeStarted;
  }
  if (implTaskKey !== undefined) {
    args.implTaskKey = implTaskKey.trim();
  }
  return args;
}

/**
 * For `showInputBox`'s `validateInput`: an error message, or `undefined`
 * when the impl task key is usable (non-empty, no whitespace).
 */
export function validateImplTaskKey(value: string): string | undefined {
  const key = value.trim();
  if (key === '') return 'Enter the impl task key (e.g. impl-a).';
  if (/\s/.test(key)) return 'The impl task key must not contain whitespace.';
  return undefined;
}

/**
 * Merges what the server's own code lens passes (`{uri}`) with the UI's
 * defaults; values the caller gave win.
 */
export function mergeCommandArg(arg: unknown, defaults: BatchArgs): BatchArgs {
  if (arg === null || typeof arg !== 'object') return defaults;
  const merged: Record<string, unknown> = { ...defaults };
  for (const [k, v] of Object.entries(arg as Record<string, unknown>)) {
    if (v !== undefined && v !== null) merged[k] = v;
  }
  return merged as unknown as BatchArgs;
}

// ---------------------------------------------------------------------------
// Errors.

/** The message of a thrown value (a languageclient `ResponseError`, an `Error`, a string). */
export function errorMessage(e: unknown): string {
  if (typeof e === 'string') return e;
  if (e !== null && typeof e === 'object' && 'message' in e) {
    const m = (e as { message: unknown }).message;
    if (typeof m === 'string' && m !== '') return m;
  }
  return String(e);
}

/**
 * The server's error kind (`data.kind` of a `ResponseError`: `not-a-plan`,
 * `no-stage-ready`, `all-stages-done`, …; docs/commands/serve.md), or
 * `undefined` for other errors.
 */
export function errorKind(e: unknown): string | undefined {
  if (e === null || typeof e !== 'object' || !('data' in e)) return undefined;
  const data = (e as { data: unknown }).data;
  if (data === null || typeof data !== 'object') return undefined;
  const kind = (data as { kind?: unknown }).kind;
  return typeof kind === 'string' ? kind : undefined;
}

/** The client is stopped or restarting: not worth showing in the status bar. */
export function isClientNotRunning(message: string): boolean {
  return /client is not running|connection (got )?disposed|pending response rejected/i.test(message);
}

// ---------------------------------------------------------------------------
// Formatting (around the server's `summary`, which is never rebuilt here).

function plural(n: number, one: string, many: string): string {
  return n === 1 ? one : many;
}

/** The summary's lines. */
export function summaryLines(batch: RunBatch): string[] {
  return batch.summary.split('\n').filter((l) => l.trim() !== '');
}

/** Its first line: "Next run: stages 2, 3 — 6/8 steps" (the code lens title). */
export function summaryHeadline(batch: RunBatch): string {
  return summaryLines(batch)[0] ?? '';
}

/** The summary on one line (notifications show no line breaks). */
export function summaryOneLine(batch: RunBatch): string {
  return summaryLines(batch)
    .map((l) => l.replace(/\s+/g, ' ').trim())
    .join(' · ');
}

export interface StatusBarView {
  visible: boolean;
  text: string;
  tooltip: string;
}

/** "okstra: next 2, 3 (6/8)", the summary as tooltip. */
export function formatStatusBar(batch: RunBatch): StatusBarView {
  if (!batch.stages || batch.stages.length === 0) {
    return { visible: true, text: 'okstra: no batch', tooltip: 'No stage is selectable.' };
  }
  return {
    visible: true,
    text: `okstra: next ${batch.stages.join(', ')} (${batch.totalSteps}/${batch.budget})`,
    tooltip: `${batch.summary}\nClick to preview the run batch.`,
  };
}

/** The status bar when the preview failed (by the error's kind): hidden for non-plans. */
export function formatStatusBarError(message: string, kind: string | undefined): StatusBarView {
  if (kind === 'not-a-plan' || isClientNotRunning(message)) {
    return { visible: false, text: '', tooltip: '' };
  }
  let text = 'okstra: no batch';
  if (kind === 'all-stages-done') text = 'okstra: all stages done';
  else if (kind === 'no-stage-ready') text = 'okstra: no stage ready';
  return { visible: true, text, tooltip: message };
}

/** The view with the server line (`serverInfoLine`) at the end of its tooltip. */
export function withServerInfo(view: StatusBarView, info: ServerInfo | undefined): StatusBarView {
  if (!view.visible) return view;
  return { ...view, tooltip: `${view.tooltip}\n${serverInfoLine(info)}` };
}

function invalidNote(batch: RunBatch): string {
  const n = batch.invalidLines?.length ?? 0;
  return n > 0 ? ` (${n} unreadable ${plural(n, 'line', 'lines')} in consumers.jsonl ignored)` : '';
}

/** The information message after a preview. */
export function formatPreviewMessage(batch: RunBatch): string {
  return `okstra: ${summaryOneLine(batch)}${invalidNote(batch)}`;
}

/** The information message after a reservation. */
export function formatReserveMessage(res: Reservation, implTaskKey: string): string {
  return `okstra: reserved for ${implTaskKey}. ${summaryOneLine(res)}${invalidNote(res)}`;
}

/** The lines written to the output channel for a preview or reservation. */
export function formatDetails(
  kind: 'preview' | 'reserve',
  uri: string,
  batch: RunBatch | Reservation,
): string[] {
  const lines = [`[${kind}] ${uri}`, ...summaryLines(batch).map((l) => `  ${l}`)];
  // A reservation's summary names the file it appended to.
  if (kind === 'preview' && batch.consumersPath) lines.push(`  consumers: ${batch.consumersPath}`);
  for (const note of batch.notes ?? []) lines.push(`  ${note}`);
  if ('rows' in batch && Array.isArray(batch.rows)) {
    lines.push(`  appended ${batch.rows.length} ${plural(batch.rows.length, 'row', 'rows')}:`);
    for (const row of batch.rows) lines.push(`    ${JSON.stringify(row)}`);
  }
  return lines;
}

/** Whether a server answer looks like a batch (guards against `null`). */
export function isRunBatch(v: unknown): v is RunBatch {
  if (v === null || typeof v !== 'object') return false;
  const o = v as Record<string, unknown>;
  return (
    Array.isArray(o.stages) &&
    typeof o.totalSteps === 'number' &&
    typeof o.budget === 'number' &&
    typeof o.summary === 'string'
  );
}

// ---------------------------------------------------------------------------
// The stage graph (okstra: Show Stage Graph).

export const STAGE_GRAPH_COMMAND = 'okstra.stageGraph';

export interface LspPosition {
  line: number;
  character: number;
}

export interface LspRange {
  start: LspPosition;
  end: LspPosition;
}

/** A stage's heading in the plan: what clicking its node reveals. */
export interface StageAnchor {
  stage: number;
  range: LspRange;
}

/** `okstra.stageGraph`'s result. */
export interface StageGraph {
  /** A self-contained SVG document; each stage node is a `<g data-stage="N">`. */
  svg: string;
  mermaid: string;
  anchors: StageAnchor[];
  /** The document version the graph was computed from. */
  version: number | null;
  /** Why the stages have no status (consumers.jsonl cannot be read), else null. */
  note?: string | null;
}

/** The argument object of `okstra.stageGraph`. */
export interface StageGraphArgs {
  uri: string;
  includeStarted?: boolean;
}

/** `{uri}`, plus `includeStarted` when the setting is a boolean. */
export function buildStageGraphArgs(uri: string, includeStarted: unknown): StageGraphArgs {
  return typeof includeStarted === 'boolean' ? { uri, includeStarted } : { uri };
}

function isPosition(v: unknown): v is LspPosition {
  if (v === null || typeof v !== 'object') return false;
  const o = v as Record<string, unknown>;
  return Number.isInteger(o.line) && Number.isInteger(o.character);
}

function isRange(v: unknown): v is LspRange {
  if (v === null || typeof v !== 'object') return false;
  const o = v as Record<string, unknown>;
  return isPosition(o.start) && isPosition(o.end);
}

/** Whether a server answer looks like a stage graph (guards against `null`). */
export function isStageGraph(v: unknown): v is StageGraph {
  if (v === null || typeof v !== 'object') return false;
  const o = v as Record<string, unknown>;
  return (
    typeof o.svg === 'string' &&
    Array.isArray(o.anchors) &&
    o.anchors.every((a) => {
      if (a === null || typeof a !== 'object') return false;
      const r = a as Record<string, unknown>;
      return Number.isInteger(r.stage) && isRange(r.range);
    })
  );
}

/** The heading range of `stage`, if the graph has one. */
export function anchorFor(anchors: readonly StageAnchor[], stage: number): LspRange | undefined {
  return anchors.find((a) => a.stage === stage)?.range;
}

/** A message from the graph's webview: `{type: 'reveal', stage}` (anything else is ignored). */
export function parseGraphMessage(msg: unknown): { type: 'reveal'; stage: number } | undefined {
  if (msg === null || typeof msg !== 'object') return undefined;
  const o = msg as Record<string, unknown>;
  if (o.type !== 'reveal') return undefined;
  const stage = o.stage;
  return typeof stage === 'number' && Number.isInteger(stage) && stage >= 0 ? { type: 'reveal', stage } : undefined;
}

/** Text made safe for HTML content and attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * The server's SVG as markup to embed: from its `<svg` on (an XML
 * declaration, a doctype or comments before it are dropped), or `undefined`
 * when it is not an SVG document or holds a `<script>`.
 */
export function svgMarkup(svg: string): string | undefined {
  const m = /^\s*(?:<\?xml[^>]*\?>\s*)?(?:<!DOCTYPE[^>]*>\s*)?(?:<!--[\s\S]*?-->\s*)*(?=<svg[\s>])/i.exec(svg);
  if (!m) return undefined;
  const rest = svg.slice(m[0].length).trimEnd();
  // The page's CSP would block a script anyway (no nonce); the server never sends one.
  return /<\/svg>$/i.test(rest) && !/<script\b/i.test(rest) ? rest : undefined;
}

/** The content security policy of the graph's page: nothing but its own nonce'd style and script. */
export function stageGraphCsp(nonce: string): string {
  return `default-src 'none'; img-src data:; style-src 'nonce-${nonce}'; script-src 'nonce-${nonce}';`;
}

export interface StageGraphPage {
  /** A fresh random value (base64) for this page's style and script. */
  nonce: string;
  /** The plan's file name, for the page title. */
  planName: string;
  /** The server's SVG; wins over `error`. */
  svg?: string;
  /** The server's note above the graph (escaped). */
  note?: string | null;
  /** Why there is no graph (shown in the page, escaped). */
  error?: string;
}

/**
 * The webview's HTML: a strict content security policy (nothing remote or
 * local is loaded; only this page's nonce'd style and script run), the
 * server's SVG (the server escapes the plan's text in it) or an escaped
 * error, and a script that posts `{type: 'reveal', stage}` when a stage node
 * (`[data-stage]`) is clicked or activated with Enter or Space.
 */
export function buildStageGraphHtml(page: StageGraphPage): string {
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(page.nonce)) throw new Error('the nonce must be base64');
  const nonce = page.nonce;
  let body: string;
  const svg = page.svg === undefined ? undefined : svgMarkup(page.svg);
  if (svg !== undefined) {
    const note = page.note ? `<p class="note">okstra: ${escapeHtml(page.note)}</p>\n` : '';
    body = `${note}<main class="graph">\n${svg}\n</main>`;
  } else {
    const message = page.svg !== undefined ? 'the server answered with something that is not an SVG graph' : (page.error ?? 'no graph');
    body = `<main class="error" role="alert">okstra: ${escapeHtml(message)}</main>`;
  }
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${stageGraphCsp(nonce)}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>Stage Graph: ${escapeHtml(page.planName)}</title>
<style nonce="${nonce}">
body { margin: 0; padding: 8px; color: var(--vscode-foreground); background: var(--vscode-editor-background); font-family: var(--vscode-font-family); }
.graph { overflow: auto; }
.graph [data-stage] { cursor: pointer; }
.graph [data-stage]:hover, .graph [data-stage]:focus { opacity: 0.8; }
.graph [data-stage]:focus { outline: 2px solid var(--vscode-focusBorder); }
.error { color: var(--vscode-errorForeground); white-space: pre-wrap; }
.note { color: var(--vscode-descriptionForeground); margin: 0 0 8px; }
</style>
</head>
<body>
${body}
<script nonce="${nonce}">
(function () {
  const vscode = acquireVsCodeApi();
  for (const node of document.querySelectorAll('.graph [data-stage]')) {
    node.setAttribute('tabindex', '0');
    node.setAttribute('role', 'button');
  }
  function reveal(target) {
    const node = target instanceof Element ? target.closest('[data-stage]') : null;
    if (!node) return false;
    const stage = Number(node.getAttribute('data-stage'));
    if (!Number.isInteger(stage)) return false;
    vscode.postMessage({ type: 'reveal', stage: stage });
    return true;
  }
  document.addEventListener('click', (e) => reveal(e.target));
  document.addEventListener('keydown', (e) => {
    if ((e.key === 'Enter' || e.key === ' ') && reveal(e.target)) e.preventDefault();
  });
})();
</script>
</body>
</html>
`;
}

// ---------------------------------------------------------------------------
// The server's log (stderr).

export interface LogLine {
  level: 'error' | 'warn' | 'info';
  message: string;
}

/**
 * A line of the server's stderr (tracing's `2026-01-01T00:00:00.000000Z  INFO
 * target: message`) without its timestamp, at its own level, so the output
 * channel does not show every line as an error. `DEBUG`/`TRACE` lines are
 * logged at info with their level kept (the channel hides debug by default,
 * and they only come when okstra.logLevel asks for them); anything else (a
 * panic message, say) stays an error.
 */
export function parseServerLogLine(line: string): LogLine {
  const m = /^(?:\d{4}-\d\d-\d\dT[\d:.]+Z?\s+)?(ERROR|WARN|INFO|DEBUG|TRACE)\s+(.*)$/.exec(line);
  if (!m) return { level: 'error', message: line };
  const [, level, rest] = m;
  switch (level) {
    case 'ERROR':
      return { level: 'error', message: rest };
    case 'WARN':
      return { level: 'warn', message: rest };
    case 'INFO':
      return { level: 'info', message: rest };
    default:
      return { level: 'info', message: `${level} ${rest}` };
  }
}

// ---------------------------------------------------------------------------
// Timing.

export interface Debounced<A extends unknown[]> {
  (...args: A): void;
  cancel(): void;
}

export interface Latest {
  /** Starts a request; the function says whether it is still the latest one started. */
  begin(): () => boolean;
}

/** Tells the answer to the latest request from older ones that arrive late. */
export function latestOnly(): Latest {
  let seq = 0;
  return {
    begin: () => {
      const mine = ++seq;
      return () => mine === seq;
    },
  };
}

/** Calls `fn` once, `ms` after the last call, with the last call's arguments. */
export function debounce<A extends unknown[]>(
  fn: (...args: A) => void,
  ms: number,
  timers: {
    set: (f: () => void, ms: number) => unknown;
    clear: (h: unknown) => void;
  } = {
    set: (f, t) => setTimeout(f, t),
    clear: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
  },
): Debounced<A> {
  let handle: unknown;
  const d = ((...args: A) => {
    if (handle !== undefined) timers.clear(handle);
    handle = timers.set(() => {
      handle = undefined;
      fn(...args);
    }, ms);
  }) as Debounced<A>;
  d.cancel = () => {
    if (handle !== undefined) timers.clear(handle);
    handle = undefined;
  };
  return d;
}
