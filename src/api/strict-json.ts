/**
 * Strict decoding of request bodies: the bytes must be valid UTF-8 (RFC 3629) and every JSON string must be well
 * formed Unicode (no lone surrogate such as "\ud800", RFC 8259 §8.2). Node's `Buffer.toString('utf8')` and
 * `JSON.parse` would otherwise replace bad bytes by U+FFFD or keep lone surrogates, and Strongroom would then
 * store or encrypt different bytes than the caller sent. Strings holding U+0000 are refused too (no field takes it,
 * and PostgreSQL text cannot hold it).
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
  if (bad !== null) throw new MalformedBody(`${bad || 'The body'} holds a string that is not well-formed Unicode (a lone surrogate) or holds U+0000.`);
  return value;
}

/** Top-level fields that may hold U+0000: plaintexts, which are encrypted and never stored. */
const NUL_ALLOWED = new Set(['plain_text']);

/** Huawei's bodies nest a few levels; deeper JSON is refused rather than walked (and never a stack overflow). */
export const MAX_DEPTH = 32;

/**
 * The JSON path of the first ill-formed string (keys included), '' for the root, or null when all are well formed.
 * Iterative, with an explicit stack; a value nested deeper than MAX_DEPTH is refused.
 */
function illFormedPath(root: unknown, _path: string): string | null {
  const stack: { value: unknown; path: string; depth: number }[] = [{ value: root, path: '', depth: 0 }];
  while (stack.length > 0) {
    const { value, path, depth } = stack.pop()!;
    if (typeof value === 'string') {
      // U+0000 is refused in every field Strongroom may store (PostgreSQL text cannot hold it); a plaintext to encrypt
      // is never stored and may hold any character.
      if (!value.isWellFormed() || (value.includes('\0') && !NUL_ALLOWED.has(path))) return path;
      continue;
    }
    if (value === null || typeof value !== 'object') continue;
    if (depth >= MAX_DEPTH) throw new MalformedBody(`The body nests deeper than ${MAX_DEPTH} levels.`);
    if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) stack.push({ value: value[i], path: `${path}[${i}]`, depth: depth + 1 });
      continue;
    }
    const entries = Object.entries(value);
    for (const [k] of entries) if (!k.isWellFormed() || k.includes('\0')) return path || 'A field name';
    for (let i = entries.length - 1; i >= 0; i--) {
      const [k, v] = entries[i]!;
      stack.push({ value: v, path: path ? `${path}.${k}` : k, depth: depth + 1 });
    }
  }
  return null;
}
