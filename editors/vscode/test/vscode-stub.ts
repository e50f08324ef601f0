/**
 * A stand-in for the `vscode` module, enough to load the bundle and run its
 * activation (and vscode-languageclient's start) under `node --test`: the
 * parts the extension uses are recorded, everything else is a no-op proxy.
 */

import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const Module = require('node:module') as {
  _load: (request: string, parent: unknown, isMain: boolean) => unknown;
};

export class Uri {
  private constructor(
    readonly scheme: string,
    private readonly href: string,
  ) {}
  static parse(s: string): Uri {
    return new Uri(new URL(s).protocol.replace(/:$/, ''), s);
  }
  static file(p: string): Uri {
    return new Uri('file', pathToFileURL(p).href);
  }
  get fsPath(): string {
    return fileURLToPath(this.href);
  }
  get path(): string {
    return new URL(this.href).pathname;
  }
  toString(): string {
    return this.href;
  }
  toJSON(): string {
    return this.href;
  }
}

export class Disposable {
  constructor(private readonly onDispose?: () => void) {}
  static from(...ds: { dispose?: () => unknown }[]): Disposable {
    return new Disposable(() => ds.forEach((d) => d?.dispose?.()));
  }
  dispose(): void {
    this.onDispose?.();
  }
}

export class Position {
  constructor(
    readonly line: number,
    readonly character: number,
  ) {}
}

export class Range {
  readonly start: Position;
  readonly end: Position;
  constructor(a: number | Position, b: number | Position, c?: number, d?: number) {
    this.start = typeof a === 'number' ? new Position(a, b as number) : a;
    this.end = typeof a === 'number' ? new Position(c as number, d as number) : (b as Position);
  }
}

export class Selection extends Range {
  constructor(
    readonly anchor: Position,
    readonly active: Position,
  ) {
    super(anchor, active);
  }
}

export class Location {
  constructor(
    readonly uri: Uri,
    readonly range: Range,
  ) {}
}

export class Diagnostic {
  code?: unknown;
  source?: string;
  constructor(
    readonly range: Range,
    readonly message: string,
    readonly severity: number,
  ) {}
}

/** A diagnostic's code: a string, or `{value, target}` when the server links its docs. */
export function codeOf(d: Diagnostic): string {
  const c = d.code;
  return String(c !== null && typeof c === 'object' && 'value' in c ? (c as { value: unknown }).value : c);
}

export class DiagnosticRelatedInformation {
  constructor(
    readonly location: Location,
    readonly message: string,
  ) {}
}

/**
 * vscode.CodeActionKind: the client builds the kinds the server declares
 * (`source.okstra.renumberStages`) by `Empty.append(part)`, part by part.
 */
export class CodeActionKind {
  static readonly Empty = new CodeActionKind('');
  static readonly QuickFix = new CodeActionKind('quickfix');
  static readonly Refactor = new CodeActionKind('refactor');
  static readonly RefactorExtract = new CodeActionKind('refactor.extract');
  static readonly RefactorInline = new CodeActionKind('refactor.inline');
  static readonly RefactorMove = new CodeActionKind('refactor.move');
  static readonly RefactorRewrite = new CodeActionKind('refactor.rewrite');
  static readonly Source = new CodeActionKind('source');
  static readonly SourceOrganizeImports = new CodeActionKind('source.organizeImports');
  static readonly SourceFixAll = new CodeActionKind('source.fixAll');
  static readonly Notebook = new CodeActionKind('notebook');
  constructor(readonly value: string) {}
  append(part: string): CodeActionKind {
    return new CodeActionKind(this.value ? `${this.value}.${part}` : part);
  }
  contains(other: CodeActionKind): boolean {
    return this.value === '' || other.value === this.value || other.value.startsWith(`${this.value}.`);
  }
  intersects(other: CodeActionKind): boolean {
    return this.contains(other) || other.contains(this);
  }
}

/** vscode-languageclient drops an answer whose token says it was cancelled: a no-op proxy would. */
export class CancellationTokenSource {
  readonly token = {
    isCancellationRequested: false,
    onCancellationRequested: () => ({ dispose: () => undefined }),
  };
  cancel(): void {
    this.token.isCancellationRequested = true;
  }
  dispose(): void {}
}

export interface Doc {
  uri: Uri;
  languageId: string;
  fileName: string;
  version: number;
  isClosed: boolean;
  getText: () => string;
}

/** A document as VS Code has it open: its text is the file's. */
export function doc(file: string, languageId = 'markdown'): Doc {
  return {
    uri: Uri.file(file),
    languageId,
    fileName: file,
    version: 1,
    isClosed: false,
    getText: () => fs.readFileSync(file, 'utf8'),
  };
}

/**
 * Rewrites the document's file and returns the change event VS Code would
 * fire (`workspace.onDidChangeTextDocument`): one change replacing the whole
 * text, the version bumped.
 */
export function edit(d: Doc, text: string): { document: Doc; contentChanges: unknown[]; reason: undefined } {
  const old = d.getText();
  const lines = old.split('\n');
  fs.writeFileSync(d.fileName, text);
  d.version += 1;
  const end = lines[lines.length - 1];
  return {
    document: d,
    contentChanges: [
      { range: new Range(0, 0, lines.length - 1, end.length), rangeOffset: 0, rangeLength: old.length, text },
    ],
    reason: undefined,
  };
}

export interface Editor {
  document: Doc;
  viewColumn?: number;
  selection?: Selection;
  /** The ranges `revealRange` was called with. */
  revealed?: Range[];
}

/** A webview panel (`window.createWebviewPanel`). */
export interface Panel {
  viewType: string;
  title: string;
  showOptions: unknown;
  options: unknown;
  webview: { html: string; cspSource: string };
  /** Every page the extension set, oldest first. */
  pages: string[];
  /** The arguments of each `reveal`. */
  reveals: unknown[][];
  disposed: boolean;
  /** What the page's script posts (`acquireVsCodeApi().postMessage`). */
  post(msg: unknown): void;
  /** The user closes the panel. */
  dispose(): void;
}

type Listener = (e: unknown) => void;

export interface Stub {
  vscode: unknown;
  commands: Map<string, (...args: unknown[]) => unknown>;
  errors: string[];
  warnings: string[];
  infos: string[];
  logs: string[];
  /** What `showInputBox` answers (after running `validateInput` on it). */
  inputBoxAnswer: string | undefined;
  inputBoxValidation: (string | undefined)[];
  status: { text: string; tooltip: string; visible: boolean };
  /** `window.activeTextEditor` (and the only visible one); `showTextDocument` replaces it. */
  activeEditor: Editor | undefined;
  /** `workspace.textDocuments`: what the client sends `didOpen` for when it starts. */
  openDocuments: Doc[];
  /** What the client published, by document URI (`languages.createDiagnosticCollection`). */
  diagnostics: Map<string, Diagnostic[]>;
  /** The webview panels created, oldest first. */
  panels: Panel[];
  /**
   * Fires an event: `activeEditor` (with the active editor unless given),
   * `open`, `change` (a document's text), `save`, `config`, `consumers` (the
   * file system watcher).
   */
  fire(event: 'activeEditor' | 'open' | 'change' | 'save' | 'config' | 'consumers', e?: unknown): void;
}

/** Any member not defined is a callable, constructible, iterable no-op. */
function anything(): unknown {
  const f = function () {
    return anything();
  };
  return new Proxy(f, {
    get: (t, prop) => {
      if (prop === 'prototype') return t.prototype;
      if (prop === Symbol.iterator) return function* () {};
      if (prop === 'dispose') return () => undefined;
      if (prop === 'then' || typeof prop === 'symbol') return undefined;
      return anything();
    },
    apply: () => ({ dispose: () => undefined }),
    construct: () => anything() as object,
  });
}

export function makeStub(settings: Record<string, unknown>, workspaceFolder?: string): Stub {
  const listeners = new Map<string, Listener[]>();
  // vscode's `Event`: a listener and the `this` to call it with.
  const on = (name: string) => (l: Listener, thisArg?: unknown) => {
    listeners.set(name, [...(listeners.get(name) ?? []), (e: unknown) => l.call(thisArg, e)]);
    return { dispose: () => undefined };
  };
  const stub: Stub = {
    vscode: undefined,
    commands: new Map(),
    errors: [],
    warnings: [],
    infos: [],
    logs: [],
    inputBoxAnswer: undefined,
    inputBoxValidation: [],
    status: { text: '', tooltip: '', visible: false },
    activeEditor: undefined,
    openDocuments: [],
    diagnostics: new Map(),
    panels: [],
    fire: (event, e) => {
      const arg = event === 'activeEditor' && e === undefined ? stub.activeEditor : e;
      for (const l of listeners.get(event) ?? []) l(arg);
    },
  };
  const createWebviewPanel = (viewType: string, title: string, showOptions: unknown, options: unknown): Panel => {
    const received: Listener[] = [];
    const disposed: Listener[] = [];
    const panel = {
      viewType,
      title,
      showOptions,
      options,
      pages: [] as string[],
      reveals: [] as unknown[][],
      disposed: false,
      webview: {
        get html() {
          return panel.pages[panel.pages.length - 1] ?? '';
        },
        set html(h: string) {
          if (panel.disposed) throw new Error('Webview is disposed');
          panel.pages.push(h);
        },
        options,
        cspSource: 'vscode-webview://stub',
        postMessage: () => Promise.resolve(true),
        onDidReceiveMessage: (l: Listener) => {
          received.push(l);
          return { dispose: () => undefined };
        },
        asWebviewUri: (u: Uri) => u,
      },
      reveal: (...args: unknown[]) => {
        panel.reveals.push(args);
      },
      onDidDispose: (l: Listener) => {
        disposed.push(l);
        return { dispose: () => undefined };
      },
      post: (msg: unknown) => received.forEach((l) => l(msg)),
      dispose: () => {
        if (panel.disposed) return;
        panel.disposed = true;
        disposed.forEach((l) => l(undefined));
      },
    };
    stub.panels.push(panel);
    return panel;
  };
  const channel = (name: string) => {
    const log = (level: string) => (m: string) => stub.logs.push(`${name} ${level} ${m}`);
    return {
      name,
      logLevel: 2,
      onDidChangeLogLevel: () => ({ dispose: () => undefined }),
      trace: log('trace'),
      debug: log('debug'),
      info: log('info'),
      warn: log('warn'),
      error: log('error'),
      append: log('append'),
      appendLine: log('line'),
      replace: () => undefined,
      clear: () => undefined,
      show: () => undefined,
      hide: () => undefined,
      dispose: () => undefined,
    };
  };
  const message = (into: string[]) => (m: string) => {
    into.push(m);
    return Promise.resolve(undefined);
  };
  const real: Record<string, unknown> = {
    version: '1.91.0',
    env: { language: 'en', appName: 'stub', machineId: 'm', sessionId: 's' },
    window: {
      createOutputChannel: channel,
      createStatusBarItem: () => ({
        set text(t: string) {
          stub.status.text = t;
        },
        set tooltip(t: string) {
          stub.status.tooltip = t;
        },
        name: '',
        command: '',
        show: () => {
          stub.status.visible = true;
        },
        hide: () => {
          stub.status.visible = false;
        },
        dispose: () => undefined,
      }),
      showErrorMessage: message(stub.errors),
      showWarningMessage: message(stub.warnings),
      showInformationMessage: message(stub.infos),
      showInputBox: async (o: { validateInput?: (v: string) => string | undefined }) => {
        if (stub.inputBoxAnswer !== undefined && o.validateInput) {
          stub.inputBoxValidation.push(o.validateInput(stub.inputBoxAnswer));
        }
        return stub.inputBoxAnswer;
      },
      onDidChangeActiveTextEditor: on('activeEditor'),
      get activeTextEditor() {
        return stub.activeEditor;
      },
      get visibleTextEditors() {
        return stub.activeEditor ? [stub.activeEditor] : [];
      },
      createWebviewPanel,
      showTextDocument: async (d: Doc, o?: { viewColumn?: number }) => {
        const revealed: Range[] = [];
        const editor = {
          document: d,
          viewColumn: o?.viewColumn,
          selection: new Selection(new Position(0, 0), new Position(0, 0)),
          revealed,
          revealRange: (r: Range) => revealed.push(r),
        };
        stub.activeEditor = editor;
        stub.fire('activeEditor', editor);
        return editor;
      },
    },
    commands: {
      registerCommand: (id: string, f: (...args: unknown[]) => unknown) => {
        stub.commands.set(id, f);
        return { dispose: () => stub.commands.delete(id) };
      },
      executeCommand: () => Promise.resolve(undefined),
    },
    workspace: {
      getConfiguration: () => ({
        get: (k: string) => settings[k],
        has: (k: string) => k in settings,
        inspect: () => undefined,
        update: () => Promise.resolve(),
      }),
      workspaceFolders: workspaceFolder
        ? [{ uri: Uri.file(workspaceFolder), name: path.basename(workspaceFolder), index: 0 }]
        : undefined,
      get textDocuments() {
        return stub.openDocuments;
      },
      openTextDocument: async (u: Uri) => stub.openDocuments.find((d) => d.uri.toString() === u.toString()) ?? doc(u.fsPath),
      onDidOpenTextDocument: on('open'),
      onDidChangeTextDocument: on('change'),
      onDidSaveTextDocument: on('save'),
      onDidChangeConfiguration: on('config'),
      createFileSystemWatcher: () => ({
        onDidChange: on('consumers'),
        onDidCreate: on('consumers'),
        onDidDelete: on('consumers'),
        dispose: () => undefined,
      }),
    },
    languages: {
      match: (_selector: unknown, d: Doc) => (d.languageId === 'markdown' ? 10 : 0),
      createDiagnosticCollection: (name?: string) => ({
        name,
        set: (uri: Uri, diagnostics: Diagnostic[] | undefined) => {
          stub.diagnostics.set(uri.toString(), [...(diagnostics ?? [])]);
        },
        get: (uri: Uri) => stub.diagnostics.get(uri.toString()),
        has: (uri: Uri) => stub.diagnostics.has(uri.toString()),
        delete: (uri: Uri) => stub.diagnostics.delete(uri.toString()),
        clear: () => stub.diagnostics.clear(),
        forEach: () => undefined,
        dispose: () => undefined,
      }),
    },
    DiagnosticSeverity: { Error: 0, Warning: 1, Information: 2, Hint: 3 },
    Position,
    Range,
    Location,
    Diagnostic,
    DiagnosticRelatedInformation,
    CancellationTokenSource,
    CodeActionKind,
    StatusBarAlignment: { Left: 1, Right: 2 },
    ViewColumn: { Active: -1, Beside: -2, One: 1, Two: 2, Three: 3 },
    TextEditorRevealType: { Default: 0, InCenter: 1, InCenterIfOutsideViewport: 2, AtTop: 3 },
    Selection,
    Uri,
    Disposable,
  };
  const wrap = (o: Record<string, unknown>): unknown =>
    new Proxy(o, {
      get: (t, prop) => {
        if (typeof prop === 'symbol' || prop === 'then') return undefined;
        if (prop in t) {
          const v = t[prop];
          const plain = v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype;
          return plain ? wrap(v as Record<string, unknown>) : v;
        }
        return anything();
      },
    });
  stub.vscode = wrap(real);
  return stub;
}

export interface Extension {
  /** `extensionPath` defaults to the bundle's parent folder (as in VS Code). */
  activate: (ctx: { subscriptions: unknown[]; extensionPath?: string }) => void;
  deactivate: () => PromiseLike<void> | undefined;
}

/** This package's out/extension.js (what `npm run build` writes). */
export const BUNDLE = path.join(__dirname, '..', '..', 'extension.js');

/** A fresh copy of a bundle (this package's by default), bound to the stub. */
export function loadExtension(stub: Stub, bundle = BUNDLE): Extension {
  delete require.cache[require.resolve(bundle)];
  const load = Module._load;
  Module._load = (request, parent, isMain) => (request === 'vscode' ? stub.vscode : load(request, parent, isMain));
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(bundle) as Extension;
  } finally {
    Module._load = load;
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until `check` holds (polling), or fails after `ms`. */
export async function until(check: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}
