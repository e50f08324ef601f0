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
  /** Folders searched after `PATH` (e.g. `~/.cargo/bin`, where `cargo install` puts it). */
  extraDirs?: string[];
  /** Whether a path is an existing (executable) file. */
  isExecutable: (p: string) => boolean;
}

export const SERVER_BINARY = 'okstra-lsp';

export type ResolvedServer =
  | { ok: true; command: string }
  | { ok: false; configured: string | undefined; searched: string[] };

/**
 * Finds the server binary: `okstra.serverPath` when set (with `~/` and a
 * relative path expanded), else `okstra-lsp` on `PATH`, then in `extraDirs`.
 */
export function resolveServerCommand(serverPath: unknown, env: ResolveEnv): ResolvedServer {
  const p = env.platform === 'win32' ? path.win32 : path.posix;
  const configured = typeof serverPath === 'string' ? serverPath.trim() : '';
  if (configured !== '') {
    let candidate = configured;
    if ((candidate === '~' || candidate.startsWith('~/') || candidate.startsWith('~\\')) && env.home) {
      candidate = p.join(env.home, candidate.slice(1));
    } else if (!p.isAbsolute(candidate) && env.workspaceFolder) {
      candidate = p.join(env.workspaceFolder, candidate);
    }
    const tries = executableNames(candidate, env);
    for (const t of tries) {
      if (env.isExecutable(t)) return { ok: true, command: t };
    }
    return { ok: false, configured, searched: tries };
  }
  const sep = env.platform === 'win32' ? ';' : ':';
  const dirs = [...(env.pathVar ?? '').split(sep), ...(env.extraDirs ?? [])].filter(
    (d, i, all) => d !== '' && all.indexOf(d) === i,
  );
  const searched: string[] = [];
  for (const dir of dirs) {
    for (const t of executableNames(p.join(dir, SERVER_BINARY), env)) {
      searched.push(t);
      if (env.isExecutable(t)) return { ok: true, command: t };
    }
  }
  return { ok: false, configured: undefined, searched };
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
  return `okstra: the \`${SERVER_BINARY}\` server binary was not found on PATH or in ~/.cargo/bin. ${hint}`;
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
