/** Shared bits of the console's views: the `html` template tag (htm on Preact) and the message bar. */
import { h } from 'preact';
import htm from 'htm';
import { ApiError } from './api.js';

export const html = htm.bind(h);

/** What the message bar shows: a success (role=status) or a failure (role=alert). */
export interface Flash {
  kind: 'status' | 'alert';
  text: string;
}

/**
 * Runs an action; its result text (or the API's error code and message) goes to the message bar. An action that
 * returns no text (a page loading its data) leaves the bar as it is.
 */
export type Run = (action: () => Promise<string | void>) => Promise<boolean>;

export function makeRun(setFlash: (f: Flash | null) => void): Run {
  return async (action) => {
    try {
      const text = await action();
      if (text) setFlash({ kind: 'status', text });
      return true;
    } catch (err) {
      setFlash({ kind: 'alert', text: err instanceof ApiError ? err.toString() : String((err as Error).message ?? err) });
      return false;
    }
  };
}

/** Values of a submitted form by field name. */
export function formValues(e: Event): Record<string, string> {
  e.preventDefault();
  const form = e.currentTarget as HTMLFormElement;
  const out: Record<string, string> = {};
  new FormData(form).forEach((v, k) => (out[k] = String(v)));
  return out;
}

export const KEY_STATES: Record<string, string> = { '1': 'Pending creation', '2': 'Enabled', '3': 'Disabled', '4': 'Pending deletion', '5': 'Pending import' };

/** Epoch milliseconds (as the API gives them, a string) as an ISO date, or empty. */
export const when = (ms: string | undefined): string => (ms && /^\d+$/.test(ms) ? new Date(Number(ms)).toISOString().replace('.000Z', 'Z') : '');
