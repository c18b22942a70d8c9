// Shared helpers of the extension tests: the extension's API, waiting on real events, notes.
import { appendFileSync } from 'node:fs';
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

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
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
