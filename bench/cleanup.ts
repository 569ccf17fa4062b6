/**
 * Processes and directories the benchmark must not leave behind: each starter registers how to undo itself, and
 * run.ts calls `cleanUp` at the end, on an error, and on Ctrl-C (SIGINT) or SIGTERM.
 */
const actions = new Set<() => Promise<void>>();

/** Registers `undo`; returns a function that unregisters it (after it was done by its owner). */
export function onCleanUp(undo: () => Promise<void>): () => void {
  actions.add(undo);
  return () => actions.delete(undo);
}

/** Runs every registered action (newest first), once; errors are printed, not thrown. */
export async function cleanUp(): Promise<void> {
  const pending = [...actions].reverse();
  actions.clear();
  for (const undo of pending) {
    try {
      await undo();
    } catch (err) {
      console.error(`bench: clean-up failed: ${(err as Error).message}`);
    }
  }
}
