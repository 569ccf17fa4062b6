/**
 * The shape of one catalogue entry: everything Strongroom knows about one Huawei operation, declared once.
 * Routing (mount.ts), request validation (validation.ts), the permission check, the audit record and the OpenAPI
 * document (openapi.ts) are all derived from these entries; a handler only maps validated Huawei fields to a
 * core call and the result back to Huawei's answer.
 */
import type { Static, TSchema } from 'typebox';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD';

/** What a handler may know of the HTTP exchange beyond its validated input. */
export interface HttpInfo {
  /** `http` or `https`. */
  protocol: string;
  /** The Host header as sent. */
  host: string;
  /** Request header values by lower-case name (first value). */
  header(name: string): string | undefined;
  /** The caller's address. */
  ip: string;
  /**
   * Records who the caller turned out to be, for operations that authenticate in their handler (issuing a token
   * with a password): the audit record then names them.
   */
  identify(ctx: unknown): void;
}

/** An answer with a status or headers other than the entry's defaults. */
export class Answer<T = unknown> {
  constructor(
    readonly body: T,
    readonly options: { status?: number; headers?: Record<string, string> } = {},
  ) {}
}

/** What a resource itself allows the caller (grants on a key), found where the IAM policies allow nothing. */
export interface ResourcePermission {
  /** The grants that allowed the call, for the audit record (`grant_ids`). */
  by: string[];
  /** Every operation those grants allow on the keys (a grantee grants onward only these). */
  operations: string[];
}

/** A project other than the call's own that a call acts in, and the action it needs there. */
export interface OtherProject {
  projectId: string;
  region: string;
  action: string;
}

export interface OperationInput<B, Q, P> {
  body: B;
  query: Q;
  params: P;
}

type StaticOr<S, Fallback> = S extends TSchema ? Static<S> : Fallback;

/**
 * One operation. `S` are the services its handler needs, `C` the caller context authentication produced.
 * Path templates use Huawei's `{name}` placeholders (docs/reference/huawei-kms-api.md §2).
 */
export interface OperationSpec<S, C, B extends TSchema | undefined, Q extends TSchema | undefined, P extends TSchema | undefined, R extends TSchema | undefined> {
  /** The SDK's operation name, e.g. `ListKeyDetail` for describe-key (docs/reference/huawei-kms-api.md §2). */
  name: string;
  method: HttpMethod;
  path: string;
  /**
   * The IAM action checked before the handler runs (docs/reference/huawei-auth.md §4.3), or null for calls that need
   * only an authenticated caller (or none, with `authentication: 'none'`).
   */
  action: string | null;
  /** Where the action name comes from: Huawei's documentation, or ours in the same pattern (README, actions). */
  actionSource?: 'huawei' | 'strongroom';
  summary: string;
  /** True when the operation changes stored state: the audit trail records the call before it runs. */
  mutates: boolean;
  /** 'required' (the default) or 'none' (version discovery, token issue). */
  authentication?: 'required' | 'none';
  body?: B;
  query?: Q;
  params?: P;
  /** The success answer; undefined for an empty body. */
  response?: R;
  /** Success status (default 200). */
  status?: number;
  /**
   * For operations a user may run on their own account entry without a permission (their password, their access
   * keys): the user the call acts on, or the access key whose owner it acts on; an empty object means the caller.
   */
  selfService?: (input: OperationInput<StaticOr<B, undefined>, StaticOr<Q, Record<string, never>>, StaticOr<P, Record<string, never>>>) => { userId?: string; accessKey?: string };
  /**
   * Other projects the call acts in (replicate: the replica's project in another region), each needing `action`
   * there on the same keys, decided as in the call's own project.
   */
  otherProjects?: (services: S, ctx: C, input: OperationInput<StaticOr<B, undefined>, StaticOr<Q, Record<string, never>>, StaticOr<P, Record<string, never>>>) => Promise<OtherProject[]>;
  /**
   * A permission the resources of the call give the caller themselves (a grant on the key; being a grant's
   * retiring principal): consulted when the IAM policies do not allow the call (an explicit Deny still refuses),
   * and the only way in for a caller of another account. Null when there is none.
   */
  resourcePermission?: (services: S, ctx: C, input: OperationInput<StaticOr<B, undefined>, StaticOr<Q, Record<string, never>>, StaticOr<P, Record<string, never>>>, keyIds: string[]) => Promise<ResourcePermission | null>;
  /** Condition values the request itself carries (e.g. create-key's `kms:KeySpec`), by condition key. */
  conditions?: (input: OperationInput<StaticOr<B, undefined>, StaticOr<Q, Record<string, never>>, StaticOr<P, Record<string, never>>>) => Record<string, string | readonly string[] | undefined>;
  /**
   * Keys the call acts on that its input does not name (AssociateAlias: the key the alias points at now): decided
   * and recorded like `keyIds`.
   */
  relatedKeyIds?: (services: S, ctx: C, input: OperationInput<StaticOr<B, undefined>, StaticOr<Q, Record<string, never>>, StaticOr<P, Record<string, never>>>) => Promise<string[]>;
  /** The key ids a call names (authorization resources, audit record); evaluated on validated input. */
  keyIds?: (input: OperationInput<StaticOr<B, undefined>, StaticOr<Q, Record<string, never>>, StaticOr<P, Record<string, never>>>) => (string | undefined)[];
  handler: (
    services: S,
    ctx: C,
    input: OperationInput<StaticOr<B, undefined>, StaticOr<Q, Record<string, never>>, StaticOr<P, Record<string, never>>>,
    http: HttpInfo,
  ) => Promise<R extends TSchema ? Static<R> | Answer<Static<R>> : void | Answer<undefined>>;
}

/** A catalogue entry with its types erased, as routing and documentation see it. */
export interface Operation<S = unknown, C = unknown> {
  name: string;
  method: HttpMethod;
  path: string;
  action: string | null;
  actionSource: 'huawei' | 'strongroom';
  summary: string;
  mutates: boolean;
  authentication: 'required' | 'none';
  body?: TSchema;
  query?: TSchema;
  params?: TSchema;
  response?: TSchema;
  status: number;
  keyIds(input: OperationInput<unknown, unknown, unknown>): string[];
  selfService?(input: OperationInput<unknown, unknown, unknown>): { userId?: string; accessKey?: string };
  conditions?(input: OperationInput<unknown, unknown, unknown>): Record<string, string | readonly string[] | undefined>;
  relatedKeyIds?(services: S, ctx: C, input: OperationInput<unknown, unknown, unknown>): Promise<string[]>;
  otherProjects?(services: S, ctx: C, input: OperationInput<unknown, unknown, unknown>): Promise<OtherProject[]>;
  resourcePermission?(services: S, ctx: C, input: OperationInput<unknown, unknown, unknown>, keyIds: string[]): Promise<ResourcePermission | null>;
  handler(services: S, ctx: C, input: OperationInput<unknown, unknown, unknown>, http: HttpInfo): Promise<unknown>;
}

/** Declares an operation; the handler's input and output are typed from the schemas. */
export function defineOperation<S, C>() {
  return <B extends TSchema | undefined = undefined, Q extends TSchema | undefined = undefined, P extends TSchema | undefined = undefined, R extends TSchema | undefined = undefined>(
    spec: OperationSpec<S, C, B, Q, P, R>,
  ): Operation<S, C> => ({
    name: spec.name,
    method: spec.method,
    path: spec.path,
    action: spec.action,
    actionSource: spec.actionSource ?? 'huawei',
    summary: spec.summary,
    mutates: spec.mutates,
    authentication: spec.authentication ?? 'required',
    ...(spec.body ? { body: spec.body } : {}),
    ...(spec.query ? { query: spec.query } : {}),
    ...(spec.params ? { params: spec.params } : {}),
    ...(spec.response ? { response: spec.response } : {}),
    status: spec.status ?? 200,
    keyIds: (input) => (spec.keyIds ? spec.keyIds(input as never).filter((k): k is string => typeof k === 'string') : []),
    ...(spec.selfService ? { selfService: (input) => spec.selfService!(input as never) } : {}),
    ...(spec.conditions ? { conditions: (input) => spec.conditions!(input as never) } : {}),
    ...(spec.otherProjects ? { otherProjects: (services, ctx, input) => spec.otherProjects!(services, ctx, input as never) } : {}),
    ...(spec.relatedKeyIds ? { relatedKeyIds: (services, ctx, input) => spec.relatedKeyIds!(services, ctx, input as never) } : {}),
    ...(spec.resourcePermission ? { resourcePermission: (services, ctx, input, keyIds) => spec.resourcePermission!(services, ctx, input as never, keyIds) } : {}),
    handler: (services, ctx, input, http) => spec.handler(services, ctx, input as never, http) as Promise<unknown>,
  });
}

/** Fastify's form of a Huawei path template: `{project_id}` → `:project_id`. */
export const routePath = (path: string): string => path.replace(/\{([a-z_]+)\}/g, ':$1');
