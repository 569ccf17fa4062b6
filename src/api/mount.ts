/**
 * Mounts catalogue operations on a fastify app, each request going through the same steps:
 *
 *   parse (http.ts: strict UTF-8 JSON) → authenticate (preValidation) → admission (rate limits: 429 APIGW.0308)
 *   → validate (the entry's schemas) → authorize (preHandler: IAM action, resources, conditions)
 *   → audit "open" for operations that change state → handler → answer (serialised by the response schema)
 *   → audit record (onSend, durable before the answer leaves; when it cannot be written the answer becomes a 500).
 *
 * The steps that differ between KMS regions and IAM (who the caller is, what they may do, where the trail goes)
 * are passed in as a `Pipeline`.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { KmsError } from '../errors.js';
import { Answer, routePath, type HttpInfo, type Operation, type OperationInput } from './operation.js';
import { header } from './http.js';
import { ajv } from './validation.js';
import type { ReplayGuard } from './replay-guard.js';

/** What one request to a catalogue operation carries through the steps (and into its audit record). */
export interface CallState<C = unknown> {
  operation: Operation;
  /** Epoch milliseconds when the request arrived. */
  startedAt: number;
  /** Set once authentication succeeded. */
  ctx?: C;
  /** The key ids the call names, once its input is valid. */
  keyIds: string[];
  /** The error code of a failed call (set by the error renderer). */
  errorCode?: string;
  /** True once the audit trail holds the call's pending record. */
  opened?: boolean;
  /** The replay guard's claim on the request's signature (replay-guard.ts), while it holds one. */
  claim?: string;
  /** True once the handler has finished: the change is made, whatever the answer becomes. */
  applied?: boolean;
}

declare module 'fastify' {
  interface FastifyRequest {
    call?: CallState;
  }
}

/** The steps of the request path that belong to the endpoint (a KMS region, or IAM). */
export interface Pipeline<S, C> {
  services: S;
  /** Who is calling: throws APIGW.0301/0307 (401) when the credentials are missing or wrong. */
  authenticate(req: FastifyRequest, operation: Operation<S, C>): Promise<C>;
  /**
   * Admission control (rate limits), asked once per operation when it is mounted: the check its calls pass right
   * after authentication (`ctx` is undefined for operations that need none) and before validation, or undefined
   * when its calls are not limited. The check throws (ThrottledError: 429 APIGW.0308 with Retry-After) to refuse.
   */
  admission?(operation: Operation<S, C>): ((ctx: C | undefined, req: FastifyRequest) => void) | undefined;
  /** Whether the caller may run the operation on these keys (`keyIds`): throws a 403 when not. */
  authorize(ctx: C, operation: Operation<S, C>, input: OperationInput<unknown, unknown, unknown>, req: FastifyRequest, keyIds: string[]): Promise<void>;
  /** The audit trail; `open` is called before operations that change state, `close` for every call. */
  audit: {
    open(call: CallState<C>, req: FastifyRequest): Promise<void>;
    close(call: CallState<C>, req: FastifyRequest, status: number): Promise<void>;
  };
  /** When set, every answer is checked against its response schema (tests): a mismatch is a 500. */
  checkResponses?: boolean;
  /** When set, a copy of a signed request that changed state is refused (replay-guard.ts). */
  replay?: ReplayGuard;
}

const inputOf = (req: FastifyRequest): OperationInput<unknown, unknown, unknown> => ({
  body: req.body,
  query: (req.query ?? {}) as unknown,
  params: (req.params ?? {}) as unknown,
});

function httpInfo(req: FastifyRequest): HttpInfo {
  return {
    protocol: req.protocol,
    host: req.headers.host ?? 'localhost',
    header: (name) => header(req, name),
    ip: req.ip,
    identify: (ctx) => {
      if (req.call) req.call.ctx = ctx;
    },
  };
}

/** Registers every operation, and the audit hook that records each call to them. */
export function mountOperations<S, C>(app: FastifyInstance, operations: readonly Operation<S, C>[], pipeline: Pipeline<S, C>): void {
  const typed = app.withTypeProvider<TypeBoxTypeProvider>();
  const responseCheck = new Map<Operation<S, C>, ReturnType<typeof ajv.compile>>();

  app.addHook('onRequest', async (req) => {
    const operation = (req.routeOptions.config as { operation?: Operation } | undefined)?.operation;
    if (operation) req.call = { operation, startedAt: Date.now(), keyIds: [] };
  });

  // The record of every call, durable before the answer leaves. A trail that cannot be written fails the call.
  app.addHook('onSend', async (req, reply, payload) => {
    const call = req.call;
    if (!call) return payload;
    if (call.claim !== undefined && !call.applied) {
      // Not applied (refused, or failed before its handler finished): the same signed request may be sent again.
      await pipeline.replay?.release(call.claim).catch((err: unknown) => req.log.error({ err }, 'a replay claim could not be released'));
      call.claim = undefined;
    }
    try {
      await pipeline.audit.close(call as CallState<C>, req, reply.statusCode);
      return payload;
    } catch (err) {
      req.log.error({ err }, 'the audit record could not be written');
      const failure = new KmsError('KMS.0103', 'The audit trail cannot be written.');
      reply.code(failure.status).header('content-type', 'application/json;charset=UTF-8');
      return JSON.stringify({ error: { error_code: failure.code, error_msg: failure.message } });
    }
  });

  for (const op of operations) {
    if (pipeline.checkResponses && op.response) responseCheck.set(op, ajv.compile(op.response));
    const admit = pipeline.admission?.(op);
    typed.route({
      method: op.method,
      url: routePath(op.path),
      config: { operation: op },
      schema: {
        ...(op.body ? { body: op.body } : {}),
        ...(op.query ? { querystring: op.query } : {}),
        ...(op.params ? { params: op.params } : {}),
        ...(op.response ? { response: { [op.status]: op.response } } : {}),
      },
      preValidation: async (req) => {
        if (op.authentication === 'required') req.call!.ctx = await pipeline.authenticate(req, op);
        if (admit !== undefined) admit(req.call!.ctx as C | undefined, req);
      },
      preHandler: async (req) => {
        const call = req.call as CallState<C>;
        const input = inputOf(req);
        call.keyIds = op.keyIds(input);
        if (op.authentication === 'required') {
          if (op.relatedKeyIds) call.keyIds = [...new Set([...call.keyIds, ...(await op.relatedKeyIds(pipeline.services, call.ctx as C, input))])];
          await pipeline.authorize(call.ctx as C, op, input, req, call.keyIds);
        }
        if (op.mutates) {
          call.claim = (await pipeline.replay?.claim(req)) ?? undefined;
          try {
            await pipeline.audit.open(call, req);
          } catch (err) {
            req.log.error({ err }, 'the audit trail cannot be written; the call was refused');
            throw new KmsError('KMS.0103', 'The audit trail cannot be written.');
          }
          call.opened = true;
        }
      },
      handler: async (req: FastifyRequest, reply: FastifyReply) => {
        const result = await op.handler(pipeline.services, req.call!.ctx as C, inputOf(req), httpInfo(req));
        req.call!.applied = true;
        const answer = result instanceof Answer ? result : new Answer(result);
        for (const [name, value] of Object.entries(answer.options.headers ?? {})) reply.header(name, value);
        reply.code(answer.options.status ?? op.status);
        if (answer.body === undefined) return reply.send();
        const check = responseCheck.get(op);
        if (check && !check(answer.body)) {
          throw new Error(`${op.name} answered outside its response schema: ${JSON.stringify(check.errors)}`);
        }
        return reply.header('Content-Type', 'application/json;charset=UTF-8').send(answer.body);
      },
    });
  }
}
