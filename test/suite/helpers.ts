// Shared helpers of the extension tests: the extension's API, waiting on real events, notes.
import { execFile } from 'node:child_process';
import { appendFileSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import * as vscode from 'vscode';
import type { RingDbApi } from '../../src/extension/api';

export const EXTENSION_ID = 'ringdb.ringdb';

export async function ringDb(): Promise<RingDbApi> {
  const ext = vscode.extensions.getExtension<RingDbApi>(EXTENSION_ID);
  if (!ext) throw new Error(`extension ${EXTENSION_ID} is not loaded`);
  return ext.isActive ? ext.exports : ext.activate();
}

/**
 * Resolves once `probe` returns a value other than undefined, re-checking on every model change
 * (and every 200 ms, for state outside the model such as process exits). Rejects after
 * `timeoutMs` with `what` and the last probe's description.
 */
export function waitFor<T>(api: RingDbApi, what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 45_000): Promise<T> {
  return new Promise((resolve, reject) => {
    let done = false;
    const finish = (fn: () => void): void => {
      if (done) return;
      done = true;
      sub.dispose();
      clearInterval(timer);
      clearTimeout(deadline);
      fn();
    };
    const check = async (): Promise<void> => {
      try {
        const v = await probe();
        if (v !== undefined) finish(() => resolve(v));
      } catch (err) {
        finish(() => reject(err));
      }
    };
    const sub = api.onDidChange(() => void check());
    const timer = setInterval(() => void check(), 200);
    const deadline = setTimeout(() => finish(() => reject(new Error(`timed out waiting for ${what}; cluster: ${describe(api)}`))), timeoutMs);
    void check();
  });
}

function describe(api: RingDbApi): string {
  const s = api.snapshot();
  return `${s.phase} [${s.nodes.map((n) => `${n.id}:${n.status}`).join(', ')}]${api.lastError() ? `; last error: ${api.lastError()}` : ''}`;
}

/** Whether `pid` runs; a zombie (a detached controller whose adopter never reaps it) does not. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}

/** A line in the test report (figures for the closing note: activation time, render times). */
export function note(text: string): void {
  const file = process.env.RINGDB_TEST_REPORT;
  const line = JSON.stringify({ event: 'note', text });
  if (file) appendFileSync(file, `${line}\n`);
  else console.log(text);
}

export const label = (item: vscode.TreeItem): string =>
  typeof item.label === 'string' ? item.label : item.label?.label ?? '';

/** One notification, quick pick or input box the extension showed while a recorder was on. */
export interface Shown {
  readonly kind: 'info' | 'warning' | 'error' | 'quickPick' | 'inputBox';
  readonly text: string;
  /** Message buttons, or quick-pick item labels. */
  readonly items: readonly string[];
  /** An input box's check as the person types. */
  readonly validate?: vscode.InputBoxOptions['validateInput'];
  /** An input box's text as it opens. */
  readonly value?: string;
  /** Quick-pick items' details (the line under each label). */
  readonly details?: readonly string[];
}

type Answer = (shown: Shown) => string | undefined;

/**
 * Records what the extension shows a person (it shares this `vscode` API object with the suite,
 * which is compiled inside the extension's folder). Quick picks and input boxes are answered by
 * `answer` (undefined = dismissed) instead of waiting for a person; messages still show, unless
 * `answer` clicks one of their buttons. restore() puts the real functions back.
 */
export function recordUi(answer: Answer = () => undefined): { shown: Shown[]; restore(): void } {
  const w = vscode.window as unknown as Record<string, (...a: unknown[]) => unknown>;
  const saved = new Map<string, (...a: unknown[]) => unknown>();
  const shown: Shown[] = [];
  const replace = (name: string, fn: (...a: unknown[]) => unknown): void => {
    saved.set(name, w[name]);
    w[name] = fn;
  };
  for (const [name, kind] of [['showInformationMessage', 'info'], ['showWarningMessage', 'warning'], ['showErrorMessage', 'error']] as const) {
    const real = w[name];
    replace(name, (...a: unknown[]) => {
      const items = a.slice(1).filter((x): x is string => typeof x === 'string');
      const s: Shown = { kind, text: String(a[0]), items };
      shown.push(s);
      const chosen = answer(s);
      return chosen !== undefined ? Promise.resolve(chosen) : real.apply(vscode.window, a);
    });
  }
  replace('showQuickPick', async (items: unknown, options: unknown) => {
    const list = (await items) as vscode.QuickPickItem[];
    const s: Shown = { kind: 'quickPick', text: (options as vscode.QuickPickOptions | undefined)?.title ?? '', items: list.map((i) => i.label), details: list.map((i) => i.detail ?? '') };
    shown.push(s);
    const chosen = answer(s);
    return list.find((i) => i.label === chosen);
  });
  replace('showInputBox', (options: unknown) => {
    const o = options as vscode.InputBoxOptions | undefined;
    const s: Shown = { kind: 'inputBox', text: o?.prompt ?? '', items: [], validate: o?.validateInput, value: o?.value };
    shown.push(s);
    return Promise.resolve(answer(s));
  });
  return {
    shown,
    restore() {
      for (const [name, fn] of saved) w[name] = fn;
    },
  };
}

/** The `ringdb` CLI, as a person would run it in a terminal beside VS Code; rejects on a non-zero exit. */
export async function ringdbCli(...args: string[]): Promise<string> {
  const root = vscode.extensions.getExtension(EXTENSION_ID)!.extensionPath;
  const { stdout } = await promisify(execFile)(process.execPath, [path.join(root, 'src/engine/bin/ringdb.js'), ...args],
    { encoding: 'utf8', timeout: 60_000, env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' } });
  return stdout;
}
