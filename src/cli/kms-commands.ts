/**
 * `strongroom kms <operation> [--region R] [--body JSON] [--<field> value …]`: the client CLI, one command per
 * operation of the KMS catalogue (api/kms/catalogue.ts), named as the API names it (the last segment of its path,
 * `create-key`; or the SDK's name in kebab case, `create-alias`, where a path does not tell operations apart) or by
 * the SDK's operation name (`CreateKey`). Field flags (`--key-alias x` or `--key_alias x`, `--tag.key k` inside an
 * object) fill the path parameters, the query of GET calls and the JSON body, typed by the operation's schema;
 * `--body JSON` (or `@FILE`, `-` for stdin) gives the whole body and flags override its fields.
 *
 * Exit codes scripts can rely on: 0 with the JSON answer on stdout (nothing for an empty answer); 1 with the error
 * body on stderr for an API error, or a message when the endpoint cannot be reached; 2 with a message on stderr for a
 * usage error (unknown operation or flag, a value of the wrong type, JSON that does not parse, a required field
 * missing). Where it calls and as whom: kms-client.ts.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { Operation } from '../api/operation.js';
import { answerTable } from './table.js';
import { call, resolveTarget, UsageError, type CallInput, type ConnectionOptions } from './kms-client.js';

type Json = Record<string, any>;

/** The options every operation takes, by flag name, with the placeholder shown in help. */
const GLOBAL_OPTIONS: Record<string, { arg: string; help: string }> = {
  region: { arg: 'R', help: 'region id (default: HUAWEICLOUD_SDK_REGION_ID, else the first region of bootstrap.json)' },
  body: { arg: 'JSON', help: 'the whole request body (JSON, @FILE or - for stdin); field flags override its fields' },
  output: { arg: 'json|table', help: 'json (default: the answer, pretty) or table' },
  'data-dir': { arg: 'DIR', help: 'the deployment data directory whose bootstrap.json gives defaults (default ./data)' },
  endpoint: { arg: 'URL', help: 'the region endpoint, http(s)://host:port (default: HUAWEICLOUD_SDK_REGION_KMS_<REGION>, else bootstrap.json)' },
  'project-id': { arg: 'ID', help: 'project id (default: HUAWEICLOUD_SDK_PROJECT_ID, else the region\'s project in bootstrap.json)' },
  ak: { arg: 'AK', help: 'access key (default: HUAWEICLOUD_SDK_AK, else bootstrap.json)' },
  sk: { arg: 'SK', help: 'secret key (default: HUAWEICLOUD_SDK_SK, else bootstrap.json)' },
  'security-token': { arg: 'TOKEN', help: 'security token of temporary credentials (default: HUAWEICLOUD_SDK_SECURITY_TOKEN)' },
  ca: { arg: 'FILE', help: 'PEM certificate authorities to trust for an https endpoint (default: STRONGROOM_CA)' },
  timeout: { arg: 'SECONDS', help: 'how long a call may take (default 60)' },
};

function optionLines(): string[] {
  const flags = Object.entries(GLOBAL_OPTIONS).map(([k, v]) => [`--${k} ${v.arg}`, v.help] as const);
  const width = Math.max(...flags.map(([f]) => f.length));
  return flags.map(([f, help]) => `  ${f.padEnd(width)}  ${help}`);
}

/** A catalogue operation with the names the CLI knows it by. */
export interface NamedOperation {
  op: Operation;
  /** The API's name: the last path segment, or the SDK name in kebab case where that segment is not distinctive. */
  name: string;
  /** The SDK's name (`CreateKey`) and its kebab form. */
  aliases: string[];
}

const kebab = (sdkName: string) => sdkName.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();
const lastSegment = (path: string) => path.split('/').at(-1) ?? '';

/** The CLI names of a catalogue: the API name is the path's last segment when no other operation ends the same. */
export function nameOperations(ops: readonly Operation[]): NamedOperation[] {
  const count = new Map<string, number>();
  for (const op of ops) count.set(lastSegment(op.path), (count.get(lastSegment(op.path)) ?? 0) + 1);
  const named = ops.map((op) => {
    const last = lastSegment(op.path);
    const name = /^[a-z][a-z0-9-]*$/.test(last) && count.get(last) === 1 ? last : kebab(op.name);
    return { op, name, aliases: [op.name, kebab(op.name)].filter((a) => a !== name) };
  });
  // A kebab alias that is another operation's API name is that operation's.
  const names = new Set(named.map((n) => n.name));
  for (const n of named) n.aliases = n.aliases.filter((a) => !names.has(a));
  return named;
}

function findOperation(all: NamedOperation[], given: string): NamedOperation {
  const found = all.find((n) => n.name === given || n.aliases.includes(given)) ?? all.find((n) => n.op.name.toLowerCase() === given.toLowerCase());
  if (found) return found;
  const near = all.filter((n) => n.name.includes(given.toLowerCase()) || given.toLowerCase().includes(n.name)).map((n) => n.name);
  throw new UsageError(`unknown operation ${given}${near.length ? ` (did you mean ${near.slice(0, 5).join(', ')}?)` : ''}; strongroom kms --help lists them`);
}

/** A plain JSON copy of a schema (TypeBox keeps symbols on its objects). */
const plain = (schema: unknown): Json => (schema ? (JSON.parse(JSON.stringify(schema)) as Json) : {});

type Kind = 'string' | 'integer' | 'number' | 'boolean' | 'array' | 'object' | 'enum' | 'any';

function kindOf(s: Json): Kind {
  if (s['x-integer']) return 'integer';
  if (Array.isArray(s.enum)) return 'enum';
  if (typeof s.type === 'string' && ['string', 'integer', 'number', 'boolean', 'array', 'object'].includes(s.type)) return s.type as Kind;
  return 'any';
}

/** How help shows a field's type: `integer 7–1096`, `one of A | B`, `list of …`, `object {key, value}`. */
function typeLabel(s: Json): string {
  const k = kindOf(s);
  if (k === 'integer') {
    const r = s['x-integer'] as { minimum?: number; maximum?: number } | undefined;
    return r && (r.minimum !== undefined || r.maximum !== undefined) ? `integer ${r.minimum ?? ''}–${r.maximum ?? ''}` : 'integer';
  }
  if (k === 'enum') return `one of ${(s.enum as string[]).join(' | ')}`;
  if (k === 'array') return `list of ${s.items ? typeLabel(s.items as Json) : 'values'} (JSON array${s.items && ['string', 'enum'].includes(kindOf(s.items as Json)) ? ' or a,b,c' : ''})`;
  if (k === 'object') return s.properties ? `object {${Object.keys(s.properties as Json).join(', ')}} (JSON, or --NAME.FIELD value)` : 'object (JSON)';
  if (k === 'any') return 'JSON value';
  return k;
}

/** A flag's value typed by its schema; UsageError when it cannot be. */
function typed(raw: string | true, s: Json, flag: string): unknown {
  const k = kindOf(s);
  if (raw === true) {
    if (k === 'boolean') return true;
    throw new UsageError(`${flag} needs a value`);
  }
  const json = (what: string) => {
    try {
      return JSON.parse(raw) as unknown;
    } catch {
      throw new UsageError(`${flag} takes ${what}; ${JSON.stringify(raw)} does not parse as JSON`);
    }
  };
  switch (k) {
    case 'integer':
    case 'number': {
      if (raw === '' && s['x-integer']?.emptyIsAbsent) return '';
      const ok = k === 'integer' ? /^-?[0-9]{1,15}$/.test(raw) : raw.trim() !== '' && Number.isFinite(Number(raw));
      if (!ok) throw new UsageError(`${flag} takes ${k === 'integer' ? 'an integer' : 'a number'}, not ${JSON.stringify(raw)}`);
      return Number(raw);
    }
    case 'boolean':
      if (raw === 'true' || raw === 'false') return raw === 'true';
      throw new UsageError(`${flag} takes true or false, not ${JSON.stringify(raw)}`);
    case 'array': {
      if (raw.trimStart().startsWith('[')) {
        const v = json('a JSON array');
        if (!Array.isArray(v)) throw new UsageError(`${flag} takes a JSON array`);
        return v;
      }
      if (s.items && ['string', 'enum'].includes(kindOf(s.items as Json))) return raw === '' ? [] : raw.split(',').map((x) => x.trim());
      throw new UsageError(`${flag} takes a JSON array`);
    }
    case 'object': {
      const v = json('a JSON object');
      if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new UsageError(`${flag} takes a JSON object`);
      return v;
    }
    case 'any':
      try {
        return JSON.parse(raw) as unknown;
      } catch {
        return raw;
      }
    default:
      return raw;
  }
}

/** The parsed command line of `strongroom kms`. */
interface KmsArgs {
  operation?: string;
  help: boolean;
  options: Record<string, string>;
  /** Field flags in order: name as typed (without `--`), value (true for a bare flag). */
  fields: [string, string | true][];
}

/** Splits the arguments: the operation (the first word), the common options, the field flags. */
export function parseKmsArgs(argv: string[]): KmsArgs {
  const out: KmsArgs = { help: false, options: {}, fields: [] };
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i] === '-o' ? '--output' : argv[i]!;
    if (token === '--help' || token === '-h') {
      out.help = true;
      continue;
    }
    if (!token.startsWith('--') || token === '--') {
      if (token.startsWith('-') && token !== '-') throw new UsageError(`unknown option ${token}`);
      if (out.operation !== undefined) throw new UsageError(`unexpected argument ${JSON.stringify(token)} (values follow their --flag; one operation per call)`);
      out.operation = token;
      continue;
    }
    const eq = token.indexOf('=');
    const name = eq < 0 ? token.slice(2) : token.slice(2, eq);
    const inline = eq < 0 ? undefined : token.slice(eq + 1);
    const next = argv[i + 1];
    const takeNext = () => (next !== undefined && !(next.startsWith('--') && next.length > 2) ? (i++, next) : undefined);
    const global = name.replace(/_/g, '-');
    if (global in GLOBAL_OPTIONS) {
      const value = inline ?? takeNext();
      if (value === undefined) throw new UsageError(`--${global} needs a value (${GLOBAL_OPTIONS[global]!.arg})`);
      out.options[global] = value;
      continue;
    }
    if (out.operation === undefined) throw new UsageError(`unknown option --${name} (give the operation first: strongroom kms <operation> --${name} …)`);
    out.fields.push([name, inline ?? takeNext() ?? true]);
  }
  return out;
}

interface Schemas {
  params: Json;
  query: Json;
  body: Json;
}

const schemasOf = (op: Operation): Schemas => ({ params: plain(op.params), query: plain(op.query), body: plain(op.body) });

/** Path parameters the caller gives (project_id comes from the connection). */
const userParams = (s: Schemas) => Object.keys(s.params.properties ?? {}).filter((p) => p !== 'project_id');

function readBody(text: string): Record<string, unknown> {
  let source = text;
  if (text === '-' || text.startsWith('@')) {
    try {
      source = readFileSync(text === '-' ? 0 : text.slice(1), 'utf8');
    } catch (err) {
      throw new UsageError(`--body ${text}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  let value: unknown;
  try {
    value = JSON.parse(source);
  } catch (err) {
    throw new UsageError(`--body is not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new UsageError('--body must be a JSON object');
  return value as Record<string, unknown>;
}

/**
 * The call's input from `--body` and the field flags: path parameters, query and body, each value typed by its
 * schema. A path parameter may also come from `--body` (it is then left out of the body unless the body has that
 * field too). UsageError for an unknown flag, a mistyped value, or a required field missing.
 */
export function buildInput(named: NamedOperation, args: KmsArgs): CallInput {
  const { op } = named;
  const s = schemasOf(op);
  const bodyProps = (s.body.properties ?? {}) as Json;
  const queryProps = (s.query.properties ?? {}) as Json;
  const paramNames = userParams(s);
  let body: Record<string, unknown> | undefined = op.body ? {} : undefined;
  const params: Record<string, string> = {};
  const query: Record<string, string> = {};
  if (args.options.body !== undefined) {
    const given = readBody(args.options.body);
    if (!op.body && !op.query && paramNames.length === 0) throw new UsageError(`${named.name} takes no body`);
    for (const p of paramNames) {
      if (given[p] !== undefined) {
        params[p] = String(given[p]);
        if (!(p in bodyProps)) delete given[p];
      }
    }
    if (op.body) body = given;
    else for (const [k, v] of Object.entries(given)) {
      if (!(k in queryProps)) throw new UsageError(`${named.name} takes no field ${k}`);
      query[k] = typeof v === 'string' ? v : JSON.stringify(v);
    }
  }
  for (const [typedName, raw] of args.fields) {
    const path = typedName.split('.').map((p) => p.replace(/-/g, '_'));
    const top = path[0]!;
    const flag = `--${typedName}`;
    if (paramNames.includes(top) && path.length === 1) {
      const v = typed(raw, s.params.properties[top] as Json, flag);
      params[top] = String(v);
    } else if (top in queryProps && path.length === 1) {
      const v = typed(raw, queryProps[top] as Json, flag);
      query[top] = String(v);
    } else if (top in bodyProps && body) {
      let schema = bodyProps[top] as Json;
      let holder: Record<string, unknown> = body;
      for (let i = 0; i < path.length - 1; i++) {
        const part = path[i]!;
        const nextSchema = (schema.properties ?? {})[path[i + 1]!] as Json | undefined;
        if (kindOf(schema) !== 'object' || !nextSchema) throw new UsageError(`unknown option ${flag} for ${named.name}: ${path.slice(0, i + 1).join('.')} has no field ${path[i + 1]} (see strongroom kms ${named.name} --help)`);
        const existing = holder[part];
        holder = (holder[part] = existing !== null && typeof existing === 'object' && !Array.isArray(existing) ? existing : {}) as Record<string, unknown>;
        schema = nextSchema;
      }
      holder[path.at(-1)!] = typed(raw, schema, flag);
    } else {
      throw new UsageError(`unknown option ${flag} for ${named.name} (see strongroom kms ${named.name} --help)`);
    }
  }
  const missing = [
    ...paramNames.filter((p) => params[p] === undefined),
    ...((s.query.required ?? []) as string[]).filter((q) => query[q] === undefined),
    ...(body ? ((s.body.required ?? []) as string[]).filter((b) => body![b] === undefined) : []),
  ];
  if (missing.length > 0) {
    throw new UsageError(`${named.name} needs ${missing.map((m) => `--${m.replace(/_/g, '-')}`).join(', ')} (see strongroom kms ${named.name} --help)`);
  }
  return { params, query, ...(body ? { body } : {}) };
}

function fieldLines(props: Json, required: string[], skip: string[] = []): string[] {
  const lines: string[] = [];
  for (const [name, schema] of Object.entries(props)) {
    if (skip.includes(name)) continue;
    const s = schema as Json;
    const mark = required.includes(name) ? ' (required)' : '';
    lines.push(`  --${name.replace(/_/g, '-')}${mark}  ${typeLabel(s)}`);
    if (typeof s.description === 'string') lines.push(`      ${s.description}`);
    const inner = s.type === 'array' ? (s.items as Json | undefined) : s;
    if (inner?.type === 'object' && inner.properties) {
      for (const [sub, subSchema] of Object.entries(inner.properties as Json)) {
        const ss = subSchema as Json;
        lines.push(`      .${sub}${((inner.required ?? []) as string[]).includes(sub) ? ' (required)' : ''}  ${typeLabel(ss)}${typeof ss.description === 'string' ? ` — ${ss.description}` : ''}`);
      }
    }
  }
  return lines;
}

/** The help of one operation, from its catalogue entry. */
export function operationHelp(named: NamedOperation): string {
  const { op } = named;
  const s = schemasOf(op);
  const lines = [
    `strongroom kms ${named.name}: ${op.summary}`,
    '',
    `  ${op.method} ${op.path}`,
    `  SDK operation ${op.name}${named.aliases.length ? `; also callable as ${named.aliases.join(', ')}` : ''}`,
    `  IAM action ${op.action ?? '(none)'}${op.authentication === 'none' ? '; needs no credentials' : ''}; answers ${op.status}${op.response ? '' : ' with an empty body (nothing printed)'}`,
  ];
  const paramNames = userParams(s);
  if (paramNames.length) lines.push('', 'Path parameters:', ...fieldLines(s.params.properties, paramNames, ['project_id']));
  if (s.query.properties && Object.keys(s.query.properties).length) lines.push('', 'Query parameters:', ...fieldLines(s.query.properties, s.query.required ?? []));
  if (s.body.properties) lines.push('', 'Body fields (--name-with-dashes or --name_with_underscores; --body JSON gives them all):', ...fieldLines(s.body.properties, s.body.required ?? []));
  lines.push('', 'Options:', ...optionLines());
  lines.push('', 'Exit codes: 0 success (the JSON answer on stdout), 1 API error (its body on stderr) or endpoint unreachable, 2 usage error.');
  return lines.join('\n');
}

/** The list of every operation, grouped as the catalogue groups them. */
export function operationsHelp(groups: readonly { title: string; operations: readonly Operation[] }[], all: NamedOperation[]): string {
  const lines = [
    'Usage: strongroom kms <operation> [--region R] [--body JSON] [--<field> value …] [--output json|table]',
    '',
    'Calls one operation of the Huawei Cloud KMS API on a Strongroom region, signed with SDK-HMAC-SHA256.',
    '<operation> is the API name (below) or the SDK operation name (in brackets). strongroom kms <operation> --help',
    'shows its fields.',
  ];
  const width = Math.max(...all.map((n) => n.name.length));
  for (const g of groups) {
    lines.push('', `${g.title}:`);
    for (const op of g.operations) {
      const n = all.find((x) => x.op === op)!;
      const summary = op.summary.length > 90 ? op.summary.slice(0, 89) + '…' : op.summary;
      lines.push(`  ${n.name.padEnd(width)}  [${op.name}] ${summary}`);
    }
  }
  lines.push('', 'Options of every operation:', ...optionLines());
  lines.push('', 'Exit codes: 0 success (the JSON answer on stdout), 1 API error (its body on stderr) or endpoint unreachable, 2 usage error.');
  return lines.join('\n');
}

function connectionOptions(o: Record<string, string>): ConnectionOptions {
  let timeoutMs: number | undefined;
  if (o.timeout !== undefined) {
    const t = Number(o.timeout);
    if (!Number.isFinite(t) || t <= 0) throw new UsageError('--timeout takes a number of seconds above 0');
    timeoutMs = t * 1000;
  }
  return {
    dataDir: o['data-dir'] ?? './data', ak: o.ak, sk: o.sk, securityToken: o['security-token'], projectId: o['project-id'],
    endpoint: o.endpoint, region: o.region, ca: o.ca, timeoutMs,
  };
}

/** Runs `strongroom kms` with its arguments, writing to `io`; returns the exit code (0, 1 or 2). */
export async function runKms(
  argv: string[],
  io: { out: (s: string) => void; err: (s: string) => void } = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) },
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  try {
    const { KMS_OPERATION_GROUPS, KMS_OPERATIONS } = await import('../api/kms/catalogue.js');
    const all = nameOperations(KMS_OPERATIONS as readonly Operation[]);
    const args = parseKmsArgs(argv);
    if (args.operation === undefined) {
      const text = operationsHelp(KMS_OPERATION_GROUPS as readonly { title: string; operations: readonly Operation[] }[], all) + '\n';
      if (args.help) {
        io.out(text);
        return 0;
      }
      io.err(text);
      return 2;
    }
    const named = findOperation(all, args.operation);
    if (args.help) {
      io.out(operationHelp(named) + '\n');
      return 0;
    }
    const output = args.options.output ?? 'json';
    if (output !== 'json' && output !== 'table') throw new UsageError(`--output takes json or table, not ${output}`);
    const input = buildInput(named, args);
    const target = resolveTarget(connectionOptions(args.options), env, named.op.authentication !== 'none');
    let answer;
    try {
      answer = await call(named.op, target, input);
    } catch (err) {
      if (err instanceof UsageError) throw err;
      io.err(`strongroom kms: ${err instanceof Error ? err.message : String(err)}\n`);
      return 1;
    }
    let parsed: unknown;
    try {
      parsed = answer.body === '' ? undefined : JSON.parse(answer.body);
    } catch {
      parsed = undefined;
    }
    if (answer.status < 200 || answer.status > 299) {
      io.err(parsed === undefined ? `HTTP ${answer.status}${answer.body ? `: ${answer.body}` : ''}\n` : JSON.stringify(parsed, null, 2) + '\n');
      return 1;
    }
    if (answer.body === '') return 0;
    if (parsed === undefined) io.out(answer.body.endsWith('\n') ? answer.body : answer.body + '\n');
    else io.out((output === 'table' ? answerTable(parsed) : JSON.stringify(parsed, null, 2)) + '\n');
    return 0;
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`strongroom kms: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
}

/** Registers `strongroom kms …` (its arguments are parsed here, from the catalogue, not by commander). */
export function kmsCommands(p: Command): void {
  p.command('kms')
    .description('call a KMS operation on a region: strongroom kms <operation> [--region R] [--body JSON] [--<field> value …] (strongroom kms --help lists them)')
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .argument('[args...]')
    .action(async (args: string[]) => {
      process.exitCode = await runKms(args);
    });
}
