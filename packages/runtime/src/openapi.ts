import type { ColumnType, Verb } from '@dfc/schema';
import type { CompiledPolicy } from './compiled.js';

/**
 * `GET /api/v2/{service}/_doc`: an OpenAPI 3.1 description of what the caller's role can
 * reach (tables and verbs). A role that reaches no table but is granted `_doc` (a
 * docs-only role, DreamFactory's documentation role) gets the service's whole surface:
 * every table and verb some role of the policy is granted. Built from the policy alone;
 * nothing from the request appears in it.
 */

const JSON_TYPE: Record<ColumnType, Record<string, unknown>> = {
  string: { type: 'string' },
  integer: { type: 'integer' },
  number: { type: 'number' },
  bool: { type: 'boolean' },
  date: { type: 'string', format: 'date-time' },
  json: {},
};

export function openApiFor(compiled: CompiledPolicy, service: string, role: string): Record<string, unknown> {
  const svc = compiled.services.get(service);
  if (!svc) return {};
  const reach = (r: string, t: string): Verb[] => [...(compiled.access.get(r)?.get(`${service}\0_table/${t}`)?.verbs ?? [])];
  const tables = new Map<string, Verb[]>();
  for (const t of svc.tables.keys()) {
    const v = reach(role, t);
    if (v.length > 0) tables.set(t, v);
  }
  if (tables.size === 0) {
    for (const t of svc.tables.keys()) {
      const all = new Set<Verb>();
      for (const r of compiled.roles.keys()) for (const v of reach(r, t)) all.add(v);
      if (all.size > 0) tables.set(t, [...all]);
    }
  }

  const schemas: Record<string, unknown> = {
    Error: {
      type: 'object',
      properties: {
        error: {
          type: 'object',
          properties: { code: { type: 'string' }, status: { type: 'integer' }, message: { type: 'string' }, requestId: { type: 'string' } },
          required: ['code', 'status', 'message', 'requestId'],
        },
      },
    },
  };
  const paths: Record<string, Record<string, unknown>> = {};
  const errors = {
    '400': { $ref: '#/components/responses/Error' },
    '401': { $ref: '#/components/responses/Error' },
    '403': { $ref: '#/components/responses/Error' },
  };
  for (const [t, verbs] of [...tables].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const def = svc.def.tables[t]!;
    const name = `${t}_record`;
    schemas[name] = {
      type: 'object',
      properties: Object.fromEntries(Object.entries(def.columns).map(([c, col]) => [c, col.nullable ? { anyOf: [JSON_TYPE[col.type], { type: 'null' }] } : JSON_TYPE[col.type]])),
    };
    const ref = { $ref: `#/components/schemas/${name}` };
    const list = { type: 'object', properties: { resource: { type: 'array', items: ref } } };
    const body = { required: true, content: { 'application/json': { schema: { oneOf: [ref, list, { type: 'array', items: ref }] } } } };
    const ok = (schema: unknown) => ({ description: 'success', content: { 'application/json': { schema } } });
    const collection: Record<string, unknown> = {};
    const item: Record<string, unknown> = {};
    const params = ['filter', 'fields', 'order', 'limit', 'offset', 'ids', 'include_count'].map((p) => ({
      name: p,
      in: 'query',
      required: false,
      schema: { type: p === 'limit' || p === 'offset' ? 'integer' : p === 'include_count' ? 'boolean' : 'string' },
    }));
    const idParam = { name: 'id', in: 'path', required: true, schema: JSON_TYPE[def.columns[def.primaryKey]!.type] };
    if (verbs.includes('GET')) {
      collection.get = { summary: `List ${t}`, parameters: params, responses: { '200': ok(list), ...errors } };
      item.get = { summary: `Get one ${t} record`, parameters: [idParam], responses: { '200': ok(ref), '404': { $ref: '#/components/responses/Error' }, ...errors } };
    }
    if (verbs.includes('POST')) collection.post = { summary: `Create ${t} records`, requestBody: body, responses: { '201': ok(list), ...errors } };
    for (const v of ['PUT', 'PATCH'] as const) {
      if (!verbs.includes(v)) continue;
      const m = v.toLowerCase();
      collection[m] = { summary: `Update ${t} records`, parameters: params, requestBody: body, responses: { '200': ok(list), ...errors } };
      item[m] = { summary: `Update one ${t} record`, parameters: [idParam], requestBody: { required: true, content: { 'application/json': { schema: ref } } }, responses: { '200': ok(ref), '404': { $ref: '#/components/responses/Error' }, ...errors } };
    }
    if (verbs.includes('DELETE')) {
      collection.delete = { summary: `Delete ${t} records`, parameters: params, responses: { '200': ok(list), ...errors } };
      item.delete = { summary: `Delete one ${t} record`, parameters: [idParam], responses: { '200': ok(ref), '404': { $ref: '#/components/responses/Error' }, ...errors } };
    }
    if (Object.keys(collection).length) paths[`/api/v2/${service}/_table/${t}`] = collection;
    if (Object.keys(item).length) paths[`/api/v2/${service}/_table/${t}/{id}`] = item;
  }
  return {
    openapi: '3.1.0',
    info: { title: `${service}`, version: compiled.hash.slice(7, 19) },
    paths,
    components: {
      schemas,
      responses: { Error: { description: 'error', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } } },
      securitySchemes: {
        apiKey: { type: 'apiKey', in: 'header', name: 'X-Api-Key' },
        session: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
      },
    },
    security: [{ apiKey: [] }, { apiKey: [], session: [] }],
  };
}
