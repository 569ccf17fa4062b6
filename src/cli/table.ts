/**
 * The client CLI's `--output table`: an answer as aligned text columns for people (scripts read the JSON). A list
 * answer (its first array of objects, e.g. list-keys' `key_details`) becomes one row per item, its other scalar
 * fields listed below; any other answer becomes FIELD/VALUE rows, nested objects flattened to dotted names
 * (`key_info.key_id`). Cells longer than 60 characters are cut with `…`; arrays of scalars are joined with `,`.
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

/** The table view of a JSON answer (see the module comment); an empty answer gives an empty string. */
export function answerTable(answer: unknown): string {
  if (!isObject(answer)) return answer === undefined ? '' : cell(answer);
  const listField = Object.keys(answer).find((k) => Array.isArray(answer[k]) && (answer[k] as unknown[]).length > 0 && (answer[k] as unknown[]).every(isObject))
    ?? Object.keys(answer).find((k) => Array.isArray(answer[k]) && (answer[k] as unknown[]).length === 0);
  if (listField === undefined) {
    const rows: [string, string][] = [];
    flatten(answer, '', rows);
    return renderTable(['FIELD', 'VALUE'], rows);
  }
  const items = answer[listField] as Record<string, unknown>[];
  const columns = [...new Set(items.flatMap((i) => Object.keys(i)))];
  const list = items.length === 0 ? `(no ${listField})` : renderTable(columns.map((c) => c.toUpperCase()), items.map((i) => columns.map((c) => cell(i[c]))));
  const rest = Object.entries(answer).filter(([k, v]) => k !== listField && !(Array.isArray(v) && v.length > 0 && v.every(isObject)) && !(Array.isArray(v) && v.length === items.length && items.length > 0));
  if (rest.length === 0) return list;
  const restRows: [string, string][] = [];
  for (const [k, v] of rest) flatten(v, k, restRows);
  return `${list}\n\n${renderTable(['FIELD', 'VALUE'], restRows)}`;
}
