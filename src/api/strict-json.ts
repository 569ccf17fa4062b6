/**
 * Strict decoding of request bodies: the bytes must be valid UTF-8 (RFC 3629) and every JSON string must be well
 * formed Unicode (no lone surrogate such as "\ud800", RFC 8259 §8.2). Node's `Buffer.toString('utf8')` and
 * `JSON.parse` would otherwise replace bad bytes by U+FFFD or keep lone surrogates, and Strongroom would then
 * store or encrypt different bytes than the caller sent.
 */
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Why a body was refused: not UTF-8, not JSON, or a string that is not well-formed Unicode. */
export class MalformedBody extends Error {}

/** The parsed JSON value of `raw`, or undefined for an empty (or all-whitespace) body. Throws MalformedBody. */
export function parseStrictJson(raw: Buffer): unknown {
  if (raw.length === 0) return undefined;
  let text: string;
  try {
    text = UTF8.decode(raw);
  } catch {
    throw new MalformedBody('The body is not valid UTF-8.');
  }
  if (text.trim() === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new MalformedBody('The body is not valid JSON.');
  }
  const bad = illFormedPath(value, '');
  if (bad !== null) throw new MalformedBody(`${bad || 'The body'} holds a string that is not well-formed Unicode (a lone surrogate).`);
  return value;
}

/** The JSON path of the first ill-formed string (keys included), '' for the root, or null when all are well formed. */
function illFormedPath(value: unknown, path: string): string | null {
  if (typeof value === 'string') return value.isWellFormed() ? null : path;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const bad = illFormedPath(value[i], `${path}[${i}]`);
      if (bad !== null) return bad;
    }
    return null;
  }
  if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (!k.isWellFormed()) return path || 'A field name';
      const bad = illFormedPath(v, path ? `${path}.${k}` : k);
      if (bad !== null) return bad;
    }
  }
  return null;
}
