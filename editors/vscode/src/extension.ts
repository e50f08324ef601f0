/**
 * The VS Code side of okstra-lsp: starts the server, forwards the `okstra`
 * settings, and adds the run-batch UI (commands, status bar) and the stage
 * graph webview.
 *
 * The server advertises `okstra.previewRunBatch` and `okstra.reserveRunBatch`
 * (its code lens runs them); vscode-languageclient registers those ids, so
 * the extension's own commands use other ids (`…Ui`), and a middleware gives
 * the code-lens path the same UI (messages, the impl-key prompt). Likewise
 * the server's `okstra.stageGraph` is drawn by `okstra.showStageGraph`.
 *
 * Everything that can be tested without VS Code lives in `logic.ts`.
 */

import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import * as vscode from 'vscode';
import {
  ExecuteCommandRequest,
  LanguageClient,
  type LanguageClientOptions,
  RevealOutputChannelOn,
  type ServerOptions,
  State,
} from 'vscode-languageclient/node';

import * as logic from './logic';

const CLIENT_ID = 'okstra';
const UI_PREVIEW = 'okstra.previewRunBatchUi';
const UI_RESERVE = 'okstra.reserveRunBatchUi';
const UI_RESTART = 'okstra.restartServer';
const UI_SERVER_INFO = 'okstra.showServerInfo';
const UI_STAGE_GRAPH = 'okstra.showStageGraph';

let client: LanguageClient | undefined;
let selector: logic.DocumentFilter[] = logic.buildDocumentSelector(undefined);
let output: vscode.LogOutputChannel;
let traceOutput: vscode.LogOutputChannel;
let statusItem: vscode.StatusBarItem;
/** The extension's folder (its `bundled/okstra-lsp`). */
let extensionPath: string;
/** Which binary runs and its `--version`: the status bar tooltip and okstra.showServerInfo. */
let serverInfo: logic.ServerInfo | undefined;
/** Settles when the running binary's `--version` has been read. */
let serverVersion: Promise<void> = Promise.resolve();
/** The missing-bundled-server warning pops up once per session (the log has it on every start). */
let fallbackWarned = false;
/** Serialises start/stop so quick setting changes cannot start two servers. */
let lifecycle: Promise<void> = Promise.resolve();
/** Ignores status answers that arrive after a newer request. */
let statusSeq = 0;
const refreshStatusSoon = logic.debounce(() => void refreshStatus(), 250);
/** The stage graph panel, while it is open. */
let graph: GraphPanel | undefined;
/** Ignores graph answers that arrive after a newer request. */
const graphRequests = logic.latestOnly();
const refreshGraphSoon = logic.debounce(() => void refreshGraph(), 300);

export function activate(context: vscode.ExtensionContext): void {
  // The bundle is out/extension.js: the extension's folder is its parent's.
  extensionPath = context.extensionPath ?? path.resolve(__dirname, '..');
  output = vscode.window.createOutputChannel('okstra', { log: true });
  traceOutput = vscode.window.createOutputChannel('okstra LSP trace', { log: true });
  statusItem = vscode.window.createStatusBarItem('okstra.runBatch', vscode.StatusBarAlignment.Left, 50);
  statusItem.name = 'okstra run batch';
  statusItem.command = UI_PREVIEW;
  context.subscriptions.push(
    output,
    traceOutput,
    statusItem,
    { dispose: () => refreshStatusSoon.cancel() },
    { dispose: () => graph?.panel.dispose() },
  );

  context.subscriptions.push(
    vscode.commands.registerCommand(UI_PREVIEW, (arg?: unknown) => previewFlow(targetUri(arg), undefined)),
    vscode.commands.registerCommand(UI_RESERVE, (arg?: unknown) => reserveFlow(targetUri(arg), undefined)),
    vscode.commands.registerCommand(UI_RESTART, () => restart()),
    vscode.commands.registerCommand(UI_SERVER_INFO, () => showServerInfo()),
    vscode.commands.registerCommand(UI_STAGE_GRAPH, (arg?: unknown) => showStageGraph(arg)),
    vscode.window.onDidChangeActiveTextEditor((editor) => {
      refreshStatusSoon();
      followActivePlan(editor);
    }),
    vscode.workspace.onDidChangeTextDocument((e) => {
      if (graph && e.contentChanges.length > 0 && sameUri(e.document.uri, graph.uri)) refreshGraphSoon();
    }),
    vscode.workspace.onDidSaveTextDocument((doc) => {
      if (doc === vscode.window.activeTextEditor?.document) refreshStatusSoon();
    }),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (logic.RESTART_SETTINGS.some((s) => e.affectsConfiguration(s))) {
        void restart();
      } else if (e.affectsConfiguration('okstra')) {
        refreshStatusSoon();
      }
    }),
  );
  const watcher = vscode.workspace.createFileSystemWatcher('**/consumers.jsonl');
  context.subscriptions.push(
    watcher,
    watcher.onDidChange(() => consumersChanged()),
    watcher.onDidCreate(() => consumersChanged()),
    watcher.onDidDelete(() => consumersChanged()),
  );

  // Not awaited: a server that never answers `initialize` must not keep the
  // extension (and okstra.restartServer) from activating.
  void enqueue(startClient);
}

export function deactivate(): Thenable<void> | undefined {
  return enqueue(stopClient);
}

/** A run's consumers.jsonl changed: stages may have started or finished. */
function consumersChanged(): void {
  refreshStatusSoon();
  if (graph) refreshGraphSoon();
}

function enqueue(step: () => Promise<void>): Promise<void> {
  lifecycle = lifecycle.then(step, step);
  return lifecycle;
}

function restart(): Promise<void> {
  return enqueue(async () => {
    await stopClient();
    await startClient();
  });
}

// ---------------------------------------------------------------------------
// The client.

function isExecutable(p: string): boolean {
  try {
    if (!fs.statSync(p).isFile()) return false;
    if (process.platform !== 'win32') fs.accessSync(p, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Makes the bundled server executable when its mode was lost on the way
 * (a vsix keeps it and VS Code restores it, but an unpacked copy may not).
 */
function ensureExecutable(p: string): void {
  if (process.platform === 'win32') return;
  try {
    if (!fs.statSync(p).isFile()) return;
    fs.accessSync(p, fs.constants.X_OK);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EACCES') return; // missing: resolution reports it
    try {
      fs.chmodSync(p, 0o755);
      output.info(`made the bundled server executable: ${p}`);
    } catch (err) {
      output.warn(`the bundled server is not executable and chmod failed: ${logic.errorMessage(err)}`);
    }
  }
}

/** The first line of `<command> --version`, or why there is none. */
function readVersion(command: string): Promise<string> {
  return new Promise((resolve) => {
    execFile(command, ['--version'], { timeout: 10_000, windowsHide: true }, (err, stdout) => {
      if (err) resolve(`(--version failed: ${logic.errorMessage(err)})`);
      else resolve(logic.parseVersionOutput(String(stdout)) ?? '(--version printed nothing)');
    });
  });
}

function cargoBin(): string {
  const cargoHome = process.env.CARGO_HOME || path.join(os.homedir(), '.cargo');
  return path.join(cargoHome, 'bin');
}

async function startClient(): Promise<void> {
  const config = vscode.workspace.getConfiguration('okstra');
  const settings: logic.ServerSettings = { serverPath: config.get('serverPath'), source: config.get('server.source') };
  const bundledPath = logic.bundledServerPath(extensionPath, process.platform);
  if (logic.usesBundled(settings)) ensureExecutable(bundledPath);
  const resolved = logic.resolveServer(
    settings,
    {
      pathVar: process.env.PATH,
      pathExt: process.env.PATHEXT,
      platform: process.platform,
      home: os.homedir(),
      workspaceFolder: vscode.workspace.workspaceFolders?.[0]?.uri.fsPath,
      cargoBin: cargoBin(),
      bundledPath,
      isExecutable,
    },
  );
  const info: logic.ServerInfo = { resolved };
  serverInfo = info;
  if (!resolved.ok) {
    const message = logic.serverNotFoundMessage(resolved);
    output.error(message);
    output.info(`searched: ${resolved.searched.join(', ') || '(nothing)'}`);
    statusItem.hide();
    void showServerError(message);
    return;
  }
  const warning = logic.fallbackWarning(resolved);
  if (warning) {
    output.warn(warning);
    if (!fallbackWarned) {
      fallbackWarned = true;
      void vscode.window.showWarningMessage(warning);
    }
  }
  serverVersion = readVersion(resolved.command).then((v) => {
    info.version = v;
    output.info(`server: ${v} — ${resolved.command} (${logic.describeVia(resolved)})`);
    refreshStatusSoon();
  });

  selector = logic.buildDocumentSelector(config.get('planGlobs'));
  const args = logic.buildServerArgs(config.get('logLevel'));
  const executable = {
    command: resolved.command,
    args,
    options: { cwd: vscode.workspace.workspaceFolders?.[0]?.uri.fsPath },
  };
  // No `transport`: `TransportKind.stdio` would append a second `--stdio`.
  const serverOptions: ServerOptions = { run: executable, debug: executable };
  const clientOptions: LanguageClientOptions = {
    documentSelector: selector,
    synchronize: { configurationSection: 'okstra' },
    // Versioned pushes after every change. The server would otherwise serve
    // this client pull-only (it declares pull support), and
    // vscode-languageclient pulls on open only unless told otherwise.
    initializationOptions: { diagnosticMode: 'push' },
    outputChannel: output,
    traceOutputChannel: traceOutput,
    revealOutputChannelOn: RevealOutputChannelOn.Never,
    stdioOptions: {
      stdout: (input, channel) => lines(input, (line) => channel.info(line)),
      // The server logs to stderr; keep each line's own level.
      stderr: (input, channel) =>
        lines(input, (line) => {
          const l = logic.parseServerLogLine(line);
          channel[l.level](l.message);
        }),
    },
    middleware: {
      executeCommand: (command, cmdArgs, next) => {
        if (command === logic.PREVIEW_COMMAND) return previewFlow(uriFromArg(cmdArgs[0]), cmdArgs[0]);
        if (command === logic.RESERVE_COMMAND) return reserveFlow(uriFromArg(cmdArgs[0]), cmdArgs[0]);
        return next(command, cmdArgs);
      },
    },
  };

  const c = new LanguageClient(CLIENT_ID, 'okstra', serverOptions, clientOptions);
  c.onDidChangeState((e) => {
    if (e.newState === State.Running) {
      refreshStatusSoon();
      if (graph) refreshGraphSoon();
    } else {
      statusItem.hide();
    }
  });
  client = c;
  output.info(`starting ${resolved.command} ${args.join(' ')}`);
  try {
    await c.start();
  } catch (e) {
    const message = `okstra: the server failed to start: ${logic.errorMessage(e)}`;
    output.error(message);
    void showServerError(`${message}. Check okstra.serverPath and the okstra output.`);
    return;
  }
  refreshStatusSoon();
}

function lines(input: NodeJS.ReadableStream, each: (line: string) => void): void {
  readline.createInterface({ input, crlfDelay: Infinity, terminal: false }).on('line', each);
}

async function stopClient(): Promise<void> {
  const c = client;
  client = undefined;
  statusItem?.hide();
  if (!c) return;
  try {
    if (c.needsStop()) await c.stop();
  } catch (e) {
    output.warn(`stopping the server: ${logic.errorMessage(e)}`);
  }
  try {
    await c.dispose();
  } catch {
    // already stopped
  }
}

async function showServerInfo(): Promise<void> {
  await serverVersion;
  const lines = logic.formatServerInfo(serverInfo);
  for (const line of lines) output.info(`[server info] ${line}`);
  const text = `okstra server — ${lines.join(' · ')}`;
  const choice = serverInfo?.resolved.ok
    ? await vscode.window.showInformationMessage(text, 'Show Output', 'Restart Server')
    : await vscode.window.showWarningMessage(text, 'Show Output', 'Restart Server');
  if (choice === 'Show Output') output.show(true);
  else if (choice === 'Restart Server') await restart();
}

async function showServerError(message: string): Promise<void> {
  const choice = await vscode.window.showErrorMessage(message, 'Open Settings', 'Show Output', 'Retry');
  if (choice === 'Open Settings') {
    // Both okstra.serverPath and okstra.server.source.
    await vscode.commands.executeCommand('workbench.action.openSettings', 'okstra.server');
  } else if (choice === 'Show Output') {
    output.show(true);
  } else if (choice === 'Retry') {
    await restart();
  }
}

// ---------------------------------------------------------------------------
// Run-batch commands.

function uriFromArg(arg: unknown): vscode.Uri | undefined {
  if (arg instanceof vscode.Uri) return arg;
  if (typeof arg === 'string') return vscode.Uri.parse(arg);
  if (arg !== null && typeof arg === 'object') {
    const u = (arg as { uri?: unknown }).uri;
    if (typeof u === 'string') return vscode.Uri.parse(u);
    if (u instanceof vscode.Uri) return u;
  }
  return undefined;
}

/** The command's argument, else the active markdown editor. */
function targetUri(arg: unknown): vscode.Uri | undefined {
  const fromArg = uriFromArg(arg);
  if (fromArg) return fromArg;
  const doc = vscode.window.activeTextEditor?.document;
  return doc && doc.languageId === 'markdown' ? doc.uri : undefined;
}

function batchArgs(c: LanguageClient, uri: vscode.Uri, given: unknown, implTaskKey?: string): logic.BatchArgs {
  const config = vscode.workspace.getConfiguration('okstra');
  const defaults = logic.buildBatchArgs(
    c.code2ProtocolConverter.asUri(uri),
    { runBudget: config.get('runBudget'), includeStarted: config.get('includeStarted') },
    implTaskKey,
  );
  // Arguments from the server's code lens (its `uri`, say) win over the defaults.
  return logic.mergeCommandArg(given, defaults);
}

function runningClient(): LanguageClient | undefined {
  if (client && client.state !== State.Stopped) return client;
  void vscode.window
    .showErrorMessage('okstra: the language server is not running.', 'Restart Server', 'Show Output')
    .then((choice) => {
      if (choice === 'Restart Server') void restart();
      else if (choice === 'Show Output') output.show(true);
    });
  return undefined;
}

async function preview(c: LanguageClient, args: logic.BatchArgs): Promise<logic.RunBatch> {
  const result: unknown = await c.sendRequest(ExecuteCommandRequest.type, {
    command: logic.PREVIEW_COMMAND,
    arguments: [args],
  });
  if (!logic.isRunBatch(result)) throw new Error('the server returned no run batch');
  return result;
}

async function previewFlow(uri: vscode.Uri | undefined, given: unknown): Promise<logic.RunBatch | undefined> {
  if (!uri) {
    void vscode.window.showWarningMessage('okstra: open a plan (markdown) to preview its run batch.');
    return undefined;
  }
  const c = runningClient();
  if (!c) return undefined;
  const args = batchArgs(c, uri, given);
  try {
    const batch = await preview(c, args);
    for (const line of logic.formatDetails('preview', args.uri, batch)) output.info(line);
    void vscode.window
      .showInformationMessage(logic.formatPreviewMessage(batch), 'Reserve…', 'Show Details')
      .then((choice) => {
        if (choice === 'Reserve…') void reserveFlow(uri, given);
        else if (choice === 'Show Details') output.show(true);
      });
    return batch;
  } catch (e) {
    reportFailure('preview', args.uri, e);
    return undefined;
  }
}

async function reserveFlow(uri: vscode.Uri | undefined, given: unknown): Promise<logic.Reservation | undefined> {
  if (!uri) {
    void vscode.window.showWarningMessage('okstra: open a plan (markdown) to reserve its run batch.');
    return undefined;
  }
  const c = runningClient();
  if (!c) return undefined;
  let args = batchArgs(c, uri, given);
  let key = typeof args.implTaskKey === 'string' ? args.implTaskKey.trim() : '';
  if (key === '' || logic.validateImplTaskKey(key) !== undefined) {
    // Show what would be reserved; a plan with nothing ready stops here.
    let summary: string;
    try {
      summary = logic.summaryHeadline(await preview(c, { ...args, implTaskKey: undefined }));
    } catch (e) {
      reportFailure('reserve', args.uri, e);
      return undefined;
    }
    const entered = await vscode.window.showInputBox({
      title: 'okstra: Reserve Run Batch',
      prompt: `${summary}. Impl task key to reserve it for (appends "started" rows to consumers.jsonl):`,
      placeHolder: 'impl-a',
      value: key,
      ignoreFocusOut: true,
      validateInput: logic.validateImplTaskKey,
    });
    if (entered === undefined) return undefined;
    key = entered.trim();
    args = { ...args, implTaskKey: key };
  }
  try {
    const result: unknown = await c.sendRequest(ExecuteCommandRequest.type, {
      command: logic.RESERVE_COMMAND,
      arguments: [args],
    });
    if (!logic.isRunBatch(result)) throw new Error('the server returned no reservation');
    const reservation = result as logic.Reservation;
    for (const line of logic.formatDetails('reserve', args.uri, reservation)) output.info(line);
    void vscode.window
      .showInformationMessage(logic.formatReserveMessage(reservation, key), 'Show Details')
      .then((choice) => {
        if (choice === 'Show Details') output.show(true);
      });
    refreshStatusSoon();
    return reservation;
  } catch (e) {
    reportFailure('reserve', args.uri, e);
    return undefined;
  }
}

function reportFailure(kind: 'preview' | 'reserve', uri: string, e: unknown): void {
  const message = logic.errorMessage(e);
  output.warn(`[${kind}] ${uri}: ${message}`);
  void vscode.window.showWarningMessage(`okstra: ${message}`);
}

// ---------------------------------------------------------------------------
// Status bar.

async function refreshStatus(): Promise<void> {
  const seq = ++statusSeq;
  const doc = vscode.window.activeTextEditor?.document;
  const c = client;
  if (
    !doc ||
    doc.languageId !== 'markdown' ||
    !c ||
    c.state !== State.Running ||
    vscode.languages.match(selector, doc) === 0
  ) {
    statusItem.hide();
    return;
  }
  let view: logic.StatusBarView;
  try {
    view = logic.formatStatusBar(await preview(c, batchArgs(c, doc.uri, undefined)));
  } catch (e) {
    view = logic.formatStatusBarError(logic.errorMessage(e), logic.errorKind(e));
  }
  if (seq !== statusSeq) return;
  if (!view.visible) {
    statusItem.hide();
    return;
  }
  view = logic.withServerInfo(view, serverInfo);
  statusItem.text = view.text;
  statusItem.tooltip = view.tooltip;
  statusItem.show();
}

// ---------------------------------------------------------------------------
// Stage graph.

interface GraphPanel {
  panel: vscode.WebviewPanel;
  /** The plan the graph shows. */
  uri: vscode.Uri;
  /** The plan's editor column when it was last active (where a click reveals it). */
  column: vscode.ViewColumn | undefined;
  /** Each stage's heading in the plan, from the last graph drawn. */
  anchors: logic.StageAnchor[];
  /** What the last page drew (plan, SVG and note, or error): an identical answer does not reload the page. */
  shown: string | undefined;
}

function sameUri(a: vscode.Uri, b: vscode.Uri): boolean {
  return a.toString() === b.toString();
}

function baseName(uri: vscode.Uri): string {
  return path.posix.basename(uri.path) || uri.toString();
}

/** A markdown document the server is sent (`okstra.planGlobs`). */
function isServedMarkdown(doc: vscode.TextDocument): boolean {
  return doc.languageId === 'markdown' && vscode.languages.match(selector, doc) > 0;
}

/** okstra: Show Stage Graph — opens (or reveals) the graph beside the plan. */
async function showStageGraph(arg: unknown): Promise<void> {
  const uri = targetUri(arg);
  if (!uri) {
    void vscode.window.showWarningMessage('okstra: open a plan (markdown) to show its stage graph.');
    return;
  }
  if (!runningClient()) return;
  const active = vscode.window.activeTextEditor;
  const column = active && sameUri(active.document.uri, uri) ? active.viewColumn : graph?.column;
  if (graph) {
    if (!sameUri(graph.uri, uri)) graph.anchors = [];
    graph.uri = uri;
    graph.column = column;
    graph.panel.title = `Stage Graph: ${baseName(uri)}`;
    graph.panel.reveal(undefined, true);
  } else {
    const panel = vscode.window.createWebviewPanel(
      'okstra.stageGraphView',
      `Stage Graph: ${baseName(uri)}`,
      { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true },
      // Scripts only for the page's own nonce'd script; nothing is loaded from disk.
      { enableScripts: true, enableCommandUris: false, localResourceRoots: [] },
    );
    const g: GraphPanel = { panel, uri, column, anchors: [], shown: undefined };
    graph = g;
    panel.onDidDispose(() => {
      if (graph === g) {
        graph = undefined;
        refreshGraphSoon.cancel();
      }
    });
    panel.webview.onDidReceiveMessage((msg: unknown) => {
      const m = logic.parseGraphMessage(msg);
      if (m && graph === g) void revealStage(g, m.stage);
    });
  }
  await refreshGraph();
}

/** The graph follows the active editor when it is another markdown document the server serves. */
function followActivePlan(editor: vscode.TextEditor | undefined): void {
  const g = graph;
  if (!g || !editor) return;
  const doc = editor.document;
  if (sameUri(doc.uri, g.uri)) {
    g.column = editor.viewColumn ?? g.column;
    return;
  }
  if (!isServedMarkdown(doc)) return;
  g.uri = doc.uri;
  g.column = editor.viewColumn;
  g.anchors = [];
  g.panel.title = `Stage Graph: ${baseName(doc.uri)}`;
  refreshGraphSoon();
}

/** Asks the server for the graph of the shown plan and draws it; only the latest answer is drawn. */
async function refreshGraph(): Promise<void> {
  const g = graph;
  if (!g) return;
  const isLatest = graphRequests.begin();
  const uri = g.uri;
  const c = client;
  let result: { svg: string; note?: string | null; anchors: logic.StageAnchor[] } | { error: string };
  if (!c || c.state !== State.Running) {
    result = { error: 'the language server is not running (okstra: Restart Server starts it).' };
  } else {
    try {
      const answer: unknown = await c.sendRequest(ExecuteCommandRequest.type, {
        command: logic.STAGE_GRAPH_COMMAND,
        arguments: [
          logic.buildStageGraphArgs(
            c.code2ProtocolConverter.asUri(uri),
            vscode.workspace.getConfiguration('okstra').get('includeStarted'),
          ),
        ],
      });
      if (!logic.isStageGraph(answer)) throw new Error('the server returned no stage graph');
      result = answer;
    } catch (e) {
      const message = logic.errorMessage(e);
      output.warn(`[stage graph] ${uri.toString()}: ${message}`);
      result = { error: message };
    }
  }
  if (!isLatest() || graph !== g || !sameUri(g.uri, uri)) return;
  const body = `${uri.toString()}\n${'svg' in result ? `svg:${result.note ?? ''}\n${result.svg}` : `error:${result.error}`}`;
  g.anchors = 'svg' in result ? result.anchors : [];
  if (body === g.shown) return;
  g.shown = body;
  g.panel.webview.html = logic.buildStageGraphHtml({
    nonce: randomBytes(18).toString('base64'),
    planName: baseName(uri),
    ...('svg' in result ? { svg: result.svg, note: result.note } : { error: result.error }),
  });
}

/** A click on a stage node: its heading in the plan's editor, selected at its start. */
async function revealStage(g: GraphPanel, stage: number): Promise<void> {
  const r = logic.anchorFor(g.anchors, stage);
  if (!r) return;
  const visible = vscode.window.visibleTextEditors.find((e) => sameUri(e.document.uri, g.uri));
  try {
    const doc =
      vscode.workspace.textDocuments.find((d) => sameUri(d.uri, g.uri)) ??
      (await vscode.workspace.openTextDocument(g.uri));
    const editor = await vscode.window.showTextDocument(doc, {
      viewColumn: visible?.viewColumn ?? g.column ?? vscode.ViewColumn.One,
      preserveFocus: false,
    });
    const range = new vscode.Range(r.start.line, r.start.character, r.end.line, r.end.character);
    editor.selection = new vscode.Selection(range.start, range.start);
    editor.revealRange(range, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
  } catch (e) {
    output.warn(`[stage graph] revealing stage ${stage}: ${logic.errorMessage(e)}`);
  }
}
