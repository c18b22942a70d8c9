// A controller this window did not launch (`ringdb start`, another window) that serves a data
// folder: found before a start, so the person hears who holds the folder and can stop it, instead
// of a launch failure with the controller's stderr.
import { engineClient, type ControllerState } from '../engineClient';

/** The live controller serving `dataDir` unless it is `ownPid`; undefined when none does. */
export async function outsideController(dataDir: string, ownPid: number | undefined): Promise<ControllerState | undefined> {
  const { findController, NoClusterError } = await engineClient();
  try {
    const { state } = findController(dataDir);
    return state.pid === ownPid ? undefined : state;
  } catch (err) {
    if (err instanceof NoClusterError) return undefined;
    throw err;
  }
}

/** Stops it and every node it runs, as `ringdb stop` does; resolves once it is gone. */
export async function stopOutsideController(dataDir: string): Promise<string[]> {
  const { stopController } = await engineClient();
  return (await stopController(dataDir)).stopped;
}
