// The extension's settings (contributes.configuration in package.json), read in one place.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { LOG_LEVELS, type LogLevel } from './log';

export interface RingDbSettings {
  /** Node count used when there is no .ringdb/cluster.json. */
  defaultNodeCount: number;
  /** Absolute data folder, or undefined to take the spec's dataDir under the workspace. */
  dataFolder: string | undefined;
  autoStart: boolean;
  logLevel: LogLevel;
}

export const SECTION = 'ringdb';

export function readSettings(): RingDbSettings {
  const c = vscode.workspace.getConfiguration(SECTION);
  const nodes = c.get<number>('defaultNodeCount', 3);
  const level = c.get<string>('logLevel', 'info');
  const folder = c.get<string>('dataFolder', '').trim();
  return {
    defaultNodeCount: Number.isInteger(nodes) && nodes >= 1 && nodes <= 32 ? nodes : 3,
    dataFolder: folder ? resolveFolder(folder) : undefined,
    autoStart: c.get<boolean>('autoStart', false),
    logLevel: (LOG_LEVELS as readonly string[]).includes(level) ? (level as LogLevel) : 'info',
  };
}

/** The first workspace folder, where .ringdb/ lives; undefined in an empty window. */
export function workspaceRoot(): string | undefined {
  return vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
}

function resolveFolder(folder: string): string {
  if (path.isAbsolute(folder)) return folder;
  const root = workspaceRoot();
  return root ? path.join(root, folder) : folder;
}
