/**
 * The client CLI's `--output table`: an answer as aligned text columns for people (scripts read the JSON). A list
 * answer (its first array of objects, e.g. list-keys' `key_details`) becomes one row per item, its other scalar
 * fields listed below; any other answer becomes FIELD/VALUE rows, nested objects flattened to dotted names
 * (`key_info.key_id`); the list may sit inside an object (user-quotas' `quotas.resources`). Cells longer than 60
 * characters are cut with `…`; arrays of scalars are joined with `,`.
 */

const MAX_CELL = 60;

function cell(value: unknown): string {
  const text = value === null || value === undefined ? '' : Array.isArray(value) && value.every((v) => typeof v !== 'object' || v === null)
    ? value.join(',')
    : typeof value === 'object' ? JSON.stringify(value) : String(value);
  const flat = text.replace(/\s*\n\s*/g, ' ');
  return flat.length > MAX_CELL ? flat.slice(0, MAX_CELL - 1) + '…' : flat;
}

/** Aligned columns, a header row first; columns separated by two spaces, no trailing blanks. */
export function renderTable(header: string[], rows: string[][]): string {
  const all = [header, ...rows];
  const widths = header.map((_h, i) => Math.max(...all.map((r) => [...(r[i] ?? '')].length)));
  return all.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c + ' '.repeat(widths[i]! - [...c].length))).join('  ').trimEnd()).join('\n');
}

function flatten(value: unknown, prefix: string, out: [string, string][]): void {
  if (value !== null && typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length > 0) {
    for (const [k, v] of Object.entries(value)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else {
    out.push([prefix, cell(value)]);
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

const isList = (v: unknown): v is Record<string, unknown>[] => Array.isArray(v) && v.length > 0 && v.every(isObject);

/** The dotted path of the answer's first non-empty array of objects, looking inside nested objects; else null. */
function findList(value: Record<string, unknown>, prefix: string[] = []): string[] | null {
  for (const [k, v] of Object.entries(value)) if (isList(v)) return [...prefix, k];
  for (const [k, v] of Object.entries(value)) {
    if (isObject(v)) {
      const found = findList(v, [...prefix, k]);
      if (found) return found;
    }
  }
  return null;
}

/** The table view of a JSON answer (see the module comment); an empty answer gives an empty string. */
export function answerTable(answer: unknown): string {
  if (!isObject(answer)) return answer === undefined ? '' : cell(answer);
  const listPath = findList(answer);
  if (listPath === null) {
    const rows: [string, string][] = [];
    flatten(answer, '', rows);
    return renderTable(['FIELD', 'VALUE'], rows);
  }
  let holder: Record<string, unknown> = answer;
  for (const k of listPath.slice(0, -1)) holder = holder[k] as Record<string, unknown>;
  const items = holder[listPath.at(-1)!] as Record<string, unknown>[];
  const columns = [...new Set(items.flatMap((i) => Object.keys(i)))];
  const list = renderTable(columns.map((c) => c.toUpperCase()), items.map((i) => columns.map((c) => cell(i[c]))));
  // The other fields (paging, totals), without the list itself and arrays parallel to it (list-keys' `keys`).
  const restRows: [string, string][] = [];
  const rest = (value: Record<string, unknown>, prefix: string) => {
    for (const [k, v] of Object.entries(value)) {
      const name = prefix ? `${prefix}.${k}` : k;
      if (v === items || (Array.isArray(v) && v.length === items.length)) continue;
      if (isObject(v) && Object.keys(v).length > 0) rest(v, name);
      else restRows.push([name, cell(v)]);
    }
  };
  rest(answer, '');
  return restRows.length === 0 ? list : `${list}\n\n${renderTable(['FIELD', 'VALUE'], restRows)}`;
}
