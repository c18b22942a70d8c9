// Cluster lifecycle commands: Start, Stop, Show Running Cluster (attach to one `ringdb start`
// runs), Create Cluster Spec, and the explorer shortcut.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { engineClient, type ClusterSpec } from '../engineClient';
import { Commands, Views } from '../common/commandIds';
import { readSettings, workspaceRoot } from '../common/config';
import type { Log } from '../common/log';
import { UserError, type ClusterSession } from '../controller/clusterSession';
import type { ClusterModel } from '../model/clusterModel';
import { argsOf } from './inputs';
import { outsideController, stopOutsideController } from '../controller/outsideController';
import { cancellationArg, explain, runReported, withCancellableProgress, withProgress } from './run';

export const SPEC_RELATIVE_PATH = path.join('.ringdb', 'cluster.json');
const STOP_AND_START = 'Stop It and Start';
const SHOW_IT_HERE = 'Show It Here';

export interface StartResult {
  nodes: string[];
  dataDir: string;
  specFile: string | undefined;
}

/**
 * The spec to start: the argument's, else the workspace's .ringdb/cluster.json, else the
 * defaults (`fromDefaults`: the data folder's recorded spec, if it has one, replaces them).
 */
async function resolveSpec(arg: unknown): Promise<{ spec: ClusterSpec; file: string | undefined; fromDefaults: boolean }> {
  const { ClusterSpecError, defaultClusterSpec, fitQuorumsToNodes, parseClusterSpec } = await engineClient();
  const a = argsOf(arg) as { spec?: unknown; nodes?: number };
  const root = workspaceRoot();
  const file = root ? path.join(root, SPEC_RELATIVE_PATH) : undefined;
  let spec: ClusterSpec;
  let from: string | undefined;
  if (a.spec !== undefined) spec = parseClusterSpec(typeof a.spec === 'string' ? a.spec : JSON.stringify(a.spec));
  else if (file && existsSync(file)) {
    try {
      spec = parseClusterSpec(readFileSync(file, 'utf8'));
    } catch (err) {
      if (!(err instanceof ClusterSpecError)) throw err;
      throw new UserError(explain(err).message, `Fix ${SPEC_RELATIVE_PATH} (its problems are underlined there) and try again.`,
        [{ title: 'Open cluster.json', run: () => vscode.window.showTextDocument(vscode.Uri.file(file)) }]);
    }
    from = file;
  } else spec = { ...defaultClusterSpec(), nodes: readSettings().defaultNodeCount };
  if (a.nodes !== undefined) spec = { ...spec, nodes: a.nodes };
  // The defaults assume 3 nodes; with fewer and no spec of the person's own, replicate to all.
  if (a.spec === undefined && !from) spec = fitQuorumsToNodes(spec, Number.isInteger(spec.nodes) && spec.nodes > 0 ? spec.nodes : 1);
  return { spec: parseClusterSpec(JSON.stringify(spec)), file: from, fromDefaults: a.spec === undefined && !from };
}

/**
 * A data folder starts again with the spec it last ran with unless the person gave one (as
 * `ringdb start` does): with the defaults, a folder run with replicationFactor 2 came back with
 * 3, its keys missing on their new replicas until a repair. Returns the spec and what to tell.
 */
async function withFolderRecord(spec: ClusterSpec, fromDefaults: boolean, dataDir: string): Promise<{ spec: ClusterSpec; note: string | undefined }> {
  const { readRecordedSpec, recordedSpecSummary, replicationFactorChange } = await engineClient();
  let recorded: ClusterSpec | undefined;
  try {
    recorded = readRecordedSpec(dataDir);
  } catch (err) {
    if (!fromDefaults) return { spec, note: undefined };
    throw new UserError(`${(err as Error).message}.`, `It records the spec this folder last started with: restore it, or start with a spec of your own (${SPEC_RELATIVE_PATH} in the workspace, "RingDB: Create Cluster Spec"), which replaces it.`);
  }
  if (!recorded) return { spec, note: undefined };
  if (fromDefaults) return { spec: recorded, note: `using the spec ${dataDir} last started with (${recordedSpecSummary(recorded)}); a ${SPEC_RELATIVE_PATH} in the workspace starts it with another.` };
  return { spec, note: replicationFactorChange(recorded, spec) };
}

/** Node data goes to the ringdb.dataFolder setting, else the spec's dataDir inside the workspace. */
function resolveDataDir(spec: ClusterSpec): string {
  const setting = readSettings().dataFolder;
  const root = workspaceRoot();
  if (setting) {
    if (path.isAbsolute(setting)) return setting;
    if (root) return path.join(root, setting);
  }
  if (path.isAbsolute(spec.dataDir)) return spec.dataDir;
  if (!root) {
    throw new UserError('There is no workspace folder to keep the cluster data in.', 'Open a folder, or set "ringdb.dataFolder" to an absolute path.');
  }
  return path.join(root, spec.dataDir);
}

/** A data folder as a person knows it: relative to the workspace when inside it (a notification is short). */
function shortPath(dir: string): string {
  const root = workspaceRoot();
  const rel = root ? path.relative(root, dir) : '';
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : dir;
}

/** What the engine names the controller's state file in a data folder (the client's STATE_FILE). */
const CONTROLLER_STATE_FILE = 'cluster-state.json';

/**
 * Whether the data folder of ringdb.dataFolder, or else the default one, holds a controller's
 * state file: checked before anything loads the engine client (gRPC, 300+ ms), so activating
 * the extension stays cheap when no cluster runs. A spec's own dataDir is not looked at here
 * (parsing it needs the engine); Show Running Cluster finds such a cluster when asked.
 */
function stateFileLikely(): boolean {
  const root = workspaceRoot();
  const setting = readSettings().dataFolder;
  const dir = setting && path.isAbsolute(setting) ? setting : root && path.join(root, setting || path.join('.ringdb', 'data'));
  return !!dir && existsSync(path.join(dir, CONTROLLER_STATE_FILE));
}

export function registerClusterCommands(session: ClusterSession, model: ClusterModel, log: Log): vscode.Disposable[] {
  // Set before the first await: a double click's second start must see the first one.
  let starting = false;
  // The same for attaching to a running cluster (Show It Here, Show Running Cluster).
  let attaching = false;
  const start = (arg?: unknown): Promise<StartResult | undefined> => runReported(log, 'Start Cluster', async () => {
    if (starting || attaching) throw new UserError('A cluster is already starting in this window.', 'Wait for it; the status bar shows when it runs.');
    if (model.snapshot.phase === 'running' || model.snapshot.phase === 'starting') {
      throw new UserError('A cluster is already running in this window.', 'Stop it first ("RingDB: Stop Cluster").');
    }
    starting = true;
    try {
      return await startNow(arg);
    } finally {
      starting = false;
    }
  });

  const startNow = async (arg: unknown): Promise<StartResult> => {
    const resolved = await resolveSpec(arg);
    const dataDir = resolveDataDir(resolved.spec);
    const { file } = resolved;
    const other = await outsideController(dataDir, session.controllerPid);
    if (other) {
      throw new UserError(
        `A cluster started outside this window already runs in ${shortPath(dataDir)}.`,
        `"${SHOW_IT_HERE}" follows it; "${STOP_AND_START}" replaces it.`,
        [{ title: SHOW_IT_HERE, run: () => showHere(dataDir) }, { title: STOP_AND_START, run: () => stopAndStart(dataDir, arg) }],
        [
          `${dataDir} is served by the controller pid ${other.pid} at ${other.address}, ${other.detached ? 'started by "ringdb start"' : 'started by another VS Code window or a script'}.`,
          `"${SHOW_IT_HERE}" follows that cluster in this window; closing the window leaves it running.`,
          `"${STOP_AND_START}" stops that controller and its nodes (the data stays), then starts the cluster here; "ringdb stop --dir ${dataDir}" in a terminal stops it the same way.`,
          'Or start with another data folder (the "ringdb.dataFolder" setting, or "dataDir" in the spec).',
        ].join('\n'),
      );
    }
    const { spec, note: specNote } = await withFolderRecord(resolved.spec, resolved.fromDefaults, dataDir);
    const specSource = file ?? (spec === resolved.spec ? 'the default spec' : 'the spec the data folder recorded');
    log.info(`starting a ${spec.nodes}-node cluster from ${specSource} with data in ${dataDir}`);
    if (specNote) {
      log.info(specNote);
      void vscode.window.showInformationMessage(`RingDB: ${specNote}`);
    }
    // Cancelling a start that is half done stops what it launched: a cluster is up or nothing runs.
    const cluster = await withCancellableProgress(`Starting a ${spec.nodes}-node cluster…`, {
      state: 'Nothing runs: the controller and every node it had launched were stopped; the data folder keeps what was written.',
      onCancel: () => session.stop(),
      also: cancellationArg(arg),
    }, async (progress) => {
      progress.report({ message: 'launching the controller and waiting for every node to answer' });
      try {
        return await session.start(spec, dataDir);
      } catch (err) {
        throw await startFailed(err);
      }
    });
    log.info(`cluster running: ${cluster.nodes.map((n) => `${n.id}@${n.address}`).join(', ')}`);
    if (cluster.nodes.length !== spec.nodes && spec === resolved.spec) {
      // The folder's own members came back (the controller records them); the spec's count is for a new folder.
      const note = `started the ${cluster.nodes.length} nodes this data folder holds (${cluster.nodes.map((n) => n.id).join(', ')}); the spec's "nodes": ${spec.nodes} is for a new data folder. Use "Add Node" to grow this cluster, or another "dataDir" for a new one.`;
      log.info(note);
      void vscode.window.showInformationMessage(`RingDB: ${note}`);
    }
    return { nodes: cluster.nodes.map((n) => n.id), dataDir, specFile: file };
  };

  /**
   * A start that failed half-way stops what it launched, as a cancelled one does: a cluster is up
   * or nothing runs. The engine's message often says what to do (a damaged file: restore it, or
   * move the node's folder away), so the advice added here only says what state things are in.
   */
  const startFailed = async (err: unknown): Promise<unknown> => {
    const { RingDbError } = await engineClient();
    if (!(err instanceof RingDbError)) return err;
    log.error('the cluster did not start; stopping the controller and any node it had started', err);
    await session.stop();
    return new UserError(explain(err).message, 'Nothing of this cluster runs now (the controller and the nodes it had started were stopped); start it again once the cause above is dealt with.');
  };

  const attachNow = async (dataDir: string): Promise<StartResult> => {
    if (attaching || starting) throw new UserError('RingDB is already connecting to or starting a cluster in this window.', 'Wait for it; the status bar shows when it runs.');
    attaching = true;
    let cluster;
    try {
      cluster = await withProgress(`Connecting to the cluster in ${dataDir}…`, () => session.attach(dataDir));
    } finally {
      attaching = false;
    }
    const nodes = cluster.nodes.map((n) => n.id);
    log.info(`showing the cluster of ${dataDir}: ${cluster.nodes.map((n) => `${n.id}@${n.address || '-'} ${n.state}`).join(', ') || 'no nodes'}`);
    void vscode.window.showInformationMessage(`RingDB: showing the cluster that runs in ${dataDir} (${nodes.length} node${nodes.length === 1 ? '' : 's'}). `
      + 'This window did not start it: closing the window leaves it running; "Stop Cluster" stops it.');
    return { nodes, dataDir, specFile: undefined };
  };

  const showHere = (dataDir: string): Promise<StartResult | undefined> => runReported(log, SHOW_IT_HERE, () => attachNow(dataDir));

  /** Show Running Cluster: the cluster `ringdb start` (or another window) runs in this workspace's data folder. */
  const showRunning = (arg?: unknown): Promise<StartResult | undefined> => {
    if (argsOf(arg).ifRunning) return showIfRunning();
    return runReported(log, 'Show Running Cluster', async () => {
      if (model.snapshot.phase === 'running' || model.snapshot.phase === 'starting') {
        throw new UserError('A cluster is already shown in this window.', 'Stop it first ("RingDB: Stop Cluster"), or open another window.');
      }
      const dataDir = resolveDataDir((await resolveSpec(arg)).spec);
      if (!(await outsideController(dataDir, undefined))) {
        const chosen = readSettings().dataFolder ? ' (the folder the "ringdb.dataFolder" setting names)' : '';
        throw new UserError(`No RingDB cluster runs in ${dataDir}${chosen}.`, `Start one: "RingDB: Start Cluster", or "ringdb start --dir ${dataDir}" in a terminal.`);
      }
      return attachNow(dataDir);
    });
  };

  /**
   * On activation: a cluster `ringdb start` runs in the workspace's data folder is shown at once.
   * Nothing to show is not an error here (no message); nor is a spec that does not parse: Start
   * Cluster reports that when asked. Another window's controller is left to that window.
   */
  const showIfRunning = async (): Promise<StartResult | undefined> => {
    if (model.snapshot.phase !== 'none' || attaching || starting || !stateFileLikely()) return undefined;
    let dataDir: string;
    try {
      dataDir = resolveDataDir((await resolveSpec(undefined)).spec);
    } catch (err) {
      log.debug(`no running cluster looked for: ${String(err)}`);
      return undefined;
    }
    const other = await outsideController(dataDir, undefined).catch(() => undefined);
    if (!other?.detached) return undefined;
    return runReported(log, 'Show Running Cluster', () => attachNow(dataDir));
  };

  const stopAndStart = async (dataDir: string, arg: unknown): Promise<void> => {
    const stopped = await runReported(log, 'Stop It and Start', async () => withProgress(`Stopping the controller that serves ${dataDir}…`, () => stopOutsideController(dataDir)));
    if (!stopped) return;
    log.info(`stopped the outside controller of ${dataDir} (${stopped.length ? stopped.join(', ') : 'no running nodes'})`);
    await vscode.commands.executeCommand(Commands.startCluster, arg);
  };

  const stop = (): Promise<boolean | undefined> => runReported(log, 'Stop Cluster', async () => {
    await withProgress('Stopping the cluster…', () => session.stop());
    log.info('cluster stopped');
    return true;
  });

  const createSpec = (): Promise<string | undefined> => runReported(log, 'Create Cluster Spec', async () => {
    const root = workspaceRoot();
    if (!root) throw new UserError('A cluster spec lives in a workspace folder, and none is open.', 'Open a folder first.');
    const file = path.join(root, SPEC_RELATIVE_PATH);
    if (!existsSync(file)) {
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, (await engineClient()).defaultClusterSpecText(), { flag: 'wx' });
      log.info(`wrote ${file}`);
    } else {
      void vscode.window.showInformationMessage(`RingDB: ${SPEC_RELATIVE_PATH} already exists; opened it.`);
    }
    await vscode.window.showTextDocument(vscode.Uri.file(file));
    return file;
  });

  return [
    vscode.commands.registerCommand(Commands.startCluster, start),
    vscode.commands.registerCommand(Commands.stopCluster, stop),
    vscode.commands.registerCommand(Commands.showRunningCluster, showRunning),
    vscode.commands.registerCommand(Commands.createClusterSpec, createSpec),
    vscode.commands.registerCommand(Commands.showExplorer, () =>
      vscode.commands.executeCommand(`workbench.view.extension.${Views.container}`)),
  ];
}
