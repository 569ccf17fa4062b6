/**
 * The OpenAPI 3.1 document of an endpoint, derived from its catalogue (operation.ts): every operation with its
 * path, method, SDK operation name (operationId), IAM action (`x-iam-action`), parameters, request and response
 * schemas (JSON Schema 2020-12, with Strongroom's `x-` keywords: `x-error-code` names the Huawei error code a rule
 * fails with), and Huawei's error body. Served at `GET /openapi.json`.
 */
import type { FastifyInstance } from 'fastify';
import type { TSchema } from 'typebox';
import type { Operation } from './operation.js';

interface Info {
  title: string;
  description: string;
}

/** A plain JSON copy of a schema (TypeBox keeps symbols on its objects). */
const plain = (schema: TSchema): Record<string, unknown> => JSON.parse(JSON.stringify(schema)) as Record<string, unknown>;

function parameters(schema: TSchema | undefined, where: 'path' | 'query') {
  if (!schema) return [];
  const s = plain(schema) as { properties?: Record<string, Record<string, unknown>>; required?: string[] };
  return Object.entries(s.properties ?? {}).map(([name, property]) => ({
    name,
    in: where,
    required: where === 'path' || (s.required ?? []).includes(name),
    ...(typeof property.description === 'string' ? { description: property.description } : {}),
    schema: property,
  }));
}

const ERROR_SCHEMA = {
  type: 'object',
  description: 'Huawei\'s error body; authentication failures use the API gateway\'s flat form {error_code, error_msg, request_id}.',
  properties: {
    error: { type: 'object', properties: { error_code: { type: 'string' }, error_msg: { type: 'string' } }, required: ['error_code', 'error_msg'] },
    error_code: { type: 'string' },
    error_msg: { type: 'string' },
  },
};

/** The OpenAPI 3.1 document of a catalogue. */
export function openApiDocument(operations: readonly Operation<never, never>[] | readonly Operation[], info: Info, version = '0.1.0'): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of operations as readonly Operation[]) {
    const item = (paths[op.path] ??= {});
    item[op.method.toLowerCase()] = {
      operationId: op.name,
      summary: op.summary,
      'x-iam-action': op.action,
      'x-iam-action-source': op.action === null ? null : op.actionSource,
      'x-changes-state': op.mutates,
      parameters: [...parameters(op.params, 'path'), ...parameters(op.query, 'query')],
      ...(op.body ? { requestBody: { required: true, content: { 'application/json': { schema: plain(op.body) } } } } : {}),
      responses: {
        [String(op.status)]: {
          description: 'Success.',
          ...(op.response ? { content: { 'application/json': { schema: plain(op.response) } } } : {}),
        },
        default: { description: 'A Huawei error.', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
      },
      ...(op.authentication === 'none' ? { security: [] } : {}),
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: info.title, description: info.description, version },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    paths,
    components: {
      schemas: { Error: ERROR_SCHEMA },
      securitySchemes: {
        token: { type: 'apiKey', in: 'header', name: 'X-Auth-Token', description: 'An IAM token (POST /v3/auth/tokens).' },
        accessKey: { type: 'apiKey', in: 'header', name: 'Authorization', description: 'SDK-HMAC-SHA256 Access=…, SignedHeaders=…, Signature=… with X-Sdk-Date (docs/reference/huawei-auth.md §3).' },
      },
    },
    security: [{ token: [] }, { accessKey: [] }],
  };
}

/** Serves the document at `GET /openapi.json` (no credentials needed, like the version documents). */
export function openApiRoute(app: FastifyInstance, operations: readonly Operation<never, never>[] | readonly Operation[], info: Info): void {
  const body = JSON.stringify(openApiDocument(operations, info));
  app.get('/openapi.json', async (_req, reply) => reply.header('Content-Type', 'application/json;charset=UTF-8').send(body));
}
