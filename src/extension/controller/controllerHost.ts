// The controller process, owned like a language server: launched on demand from the bundled
// dist/engine/controller.js, restarted with back-off when it crashes, stopped (and with it every
// node) when the owner is disposed. A controller stopped from outside (`ringdb stop`) exits
// cleanly and stays stopped. Its output goes to the RingDB channel. A controller someone else
// launched (`ringdb start`) can be attached to instead: followed, stopped only when asked, never
// restarted, and left running when the window goes away.
import * as vscode from 'vscode';
import { engineClient, type ControllerHandle } from '../engineClient';
import { Disposable } from '../common/lifecycle';
import type { Log } from '../common/log';

/** Delays before restart attempts 1, 2, 3 ...; after the last one the host gives up. */
const BACKOFF_MS = [500, 1_000, 2_000, 4_000, 8_000];
/** A controller that ran this long is considered healthy again: the back-off starts over. */
const HEALTHY_AFTER_MS = 60_000;
const STOP_GRACE_MS = 10_000;

export type HostEvent =
  | { readonly kind: 'started'; readonly handle: ControllerHandle; readonly restart: boolean }
  /** `exit`: the process and how it ended ("pid 12, SIGKILL"), when a process ended (not a launch that failed). */
  | { readonly kind: 'crashed'; readonly detail: string; readonly retryInMs: number | undefined; readonly exit?: string }
  /**
   * It ended without this window asking: a launched one exited cleanly (`ringdb stop`), or one
   * this window attached to exited (`crashed` when it left its state file behind).
   */
  | { readonly kind: 'stoppedOutside'; readonly detail: string; readonly crashed: boolean }
  | { readonly kind: 'stopped' };

export class ControllerHost extends Disposable {
  private handle: ControllerHandle | undefined;
  private launching: Promise<ControllerHandle> | undefined;
  private stopping: Promise<void> | undefined;
  private dataDir: string | undefined;
  private attempts = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private clusterStopped = false;
  private readonly _onDidChange = this._register(new vscode.EventEmitter<HostEvent>());
  readonly onDidChange = this._onDidChange.event;

  constructor(private readonly controllerScript: string, private readonly log: Log) {
    super();
  }

  get current(): ControllerHandle | undefined {
    return this.handle;
  }

  /**
   * What the controller's Watch stream last said about the cluster: once it reported "stopped", an
   * exit is the end of a stop (whatever its exit code), not a crash to recover from.
   */
  noteClusterStopped(stopped: boolean): void {
    this.clusterStopped = stopped;
  }

  /**
   * Follows the controller already serving `dataDir` (NoClusterError when none does). It is not
   * this window's: when it exits, that is reported as a stop from outside, never restarted.
   */
  async attach(dataDir: string): Promise<ControllerHandle> {
    if (this.stopping) await this.stopping;
    if (this.handle) await this.stop();
    const { connectController, readStateFile } = await engineClient();
    const handle = connectController(dataDir);
    this.handle = handle;
    this.dataDir = dataDir;
    this.attempts = 0;
    this.clusterStopped = false;
    this.log.info(`attached to the controller pid ${handle.pid} at ${handle.address}, which serves ${dataDir} (this window did not start it)`);
    void handle.exited.then(() => {
      if (this.handle !== handle) return;
      this.handle = undefined;
      // A stopped controller removes its state file; one that crashed or was killed leaves it.
      let crashed = false;
      try {
        crashed = readStateFile(dataDir).pid === handle.pid;
      } catch {
        crashed = false;
      }
      const detail = `the controller (pid ${handle.pid}) this window attached to has exited${crashed ? ' without a stop (it crashed or was killed)' : ''}`;
      this.log.info(`${detail}; it is not this window's to restart`);
      this._onDidChange.fire({ kind: 'stoppedOutside', detail, crashed });
    });
    this._onDidChange.fire({ kind: 'started', handle, restart: false });
    return handle;
  }

  /** The running controller for `dataDir`, launching it if needed (a different folder replaces it). */
  async ensure(dataDir: string): Promise<ControllerHandle> {
    if (this.stopping) await this.stopping;
    if (this.handle && this.dataDir === dataDir) return this.handle;
    if (this.handle) await this.stop();
    this.dataDir = dataDir;
    // A start asked for by the person: the back-off of an earlier controller that gave up is over.
    if (!this.launching) this.attempts = 0;
    this.launching ??= this.launch(false).finally(() => (this.launching = undefined));
    return this.launching;
  }

  private async launch(restart: boolean): Promise<ControllerHandle> {
    const dataDir = this.dataDir;
    if (!dataDir) throw new Error('no data folder to launch the controller for');
    this.log.info(`launching the controller for ${dataDir}${restart ? ` (restart ${this.attempts})` : ''}`);
    const { launchController } = await engineClient();
    const handle = await launchController({
      dataDir,
      controllerScript: this.controllerScript,
      onOutput: (line) => this.log.processLine('controller', line),
    });
    if (this.isDisposed) {
      await handle.stop(STOP_GRACE_MS);
      throw new Error('the extension was shut down while the controller started');
    }
    this.handle = handle;
    this.clusterStopped = false;
    const startedAt = Date.now();
    this.log.info(`controller pid ${handle.pid} serves ${handle.address}`);
    void handle.exited.then((exit) => {
      if (this.handle !== handle) return; // stopped on purpose, or replaced
      this.handle = undefined;
      if (Date.now() - startedAt > HEALTHY_AFTER_MS) this.attempts = 0;
      // The controller exits 0 only when told to stop (SIGTERM, SIGINT): a crash never does.
      if (exit.code === 0 || this.clusterStopped) {
        const detail = `the controller (pid ${handle.pid}) was stopped outside VS Code (${exit.signal ?? `code ${exit.code}`})`;
        this.log.info(`${detail}; not restarting it`);
        this.attempts = 0;
        this._onDidChange.fire({ kind: 'stoppedOutside', detail, crashed: false });
        return;
      }
      this.onCrash(`the controller (pid ${handle.pid}) exited unexpectedly (${exit.signal ?? `code ${exit.code}`})`, `pid ${handle.pid}, ${exit.signal ?? `exit code ${exit.code}`}`);
    });
    this._onDidChange.fire({ kind: 'started', handle, restart });
    return handle;
  }

  private onCrash(detail: string, exit?: string): void {
    if (this.isDisposed || this.stopping) return;
    const delay = BACKOFF_MS[this.attempts];
    this.log.error(delay === undefined ? `${detail}; giving up after ${this.attempts} restarts` : `${detail}; restarting in ${delay} ms`);
    this._onDidChange.fire({ kind: 'crashed', detail, retryInMs: delay, exit });
    if (delay === undefined) return;
    this.attempts++;
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.isDisposed || this.handle) return;
      this.launching ??= this.launch(true).finally(() => (this.launching = undefined));
      this.launching.catch((err: unknown) => this.onCrash(`the controller could not be restarted: ${String(err)}`));
    }, delay);
  }

  /** Stops the controller, which stops every node it started; resolves when the process is gone. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      if (this.restartTimer) clearTimeout(this.restartTimer);
      this.restartTimer = undefined;
      await this.launching?.catch(() => undefined);
      const handle = this.handle;
      this.handle = undefined;
      this.attempts = 0;
      if (handle) {
        this.log.info(`stopping the controller (pid ${handle.pid})`);
        const exit = await handle.stop(STOP_GRACE_MS);
        this.log.info(`controller exited (${exit.signal ?? `code ${exit.code}`})`);
        this._onDidChange.fire({ kind: 'stopped' });
      }
    })().finally(() => (this.stopping = undefined));
    return this.stopping;
  }

  /** When the window goes away: stops the controller it launched; one it attached to keeps running. */
  shutdown(): Promise<void> {
    const handle = this.handle;
    if (!handle || handle.launched) return this.stop();
    this.handle = undefined;
    handle.client.close();
    this.log.info(`leaving the controller (pid ${handle.pid}) running: this window attached to it and did not start it`);
    return Promise.resolve();
  }

  override dispose(): void {
    void this.shutdown();
    super.dispose();
  }
}
