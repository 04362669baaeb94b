import type { FastifyReply, FastifyRequest } from 'fastify';
import { COUNTER, sendError, type RoutePlugin } from '../context.js';

const DATE = { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}$' } as const;

/** A date that matched the pattern but is no calendar date (2026-02-30): 400, as the schema would. */
export function badDate(reply: FastifyReply, e: unknown): FastifyReply {
  if (e instanceof RangeError) return sendError(reply, 'REQUEST_INVALID', e.message, 'use YYYY-MM-DD');
  throw e;
}

/** The shop's days: a day's Z report, its close, the closed days (docs/host-api.md §7.4). */
export const closeRoutes: RoutePlugin = async (app, { ctx }) => {
  const { port } = ctx;
  app.post(
    '/api/v1/closes',
    {
      config: COUNTER,
      schema: {
        body: { type: 'object', required: ['date'], additionalProperties: false, properties: { date: DATE } },
      },
    },
    async (req: FastifyRequest<{ Body: { date: string } }>, reply) => {
      try {
        const { report, alreadyClosed } = await port.closeDay(req.body.date);
        return reply
          .code(alreadyClosed ? 200 : 201)
          .header('Location', `/api/v1/closes/${req.body.date}`)
          .send({ alreadyClosed, report });
      } catch (e) {
        return badDate(reply, e);
      }
    },
  );

  app.get(
    '/api/v1/closes',
    {
      config: COUNTER,
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            from: DATE,
            to: DATE,
            limit: { type: 'string', pattern: '^([1-9][0-9]{0,1}|[1-2][0-9]{2}|3[0-5][0-9]|36[0-6])$' },
          },
        },
      },
    },
    async (req: FastifyRequest<{ Querystring: { from?: string; to?: string; limit?: string } }>) => {
      const { from, to, limit } = req.query;
      return {
        ...port.shopDay(),
        closes: port.dayCloses({ ...(from ? { from } : {}), ...(to ? { to } : {}), limit: Number(limit ?? 31) }),
      };
    },
  );

  app.get(
    '/api/v1/closes/:date',
    { config: COUNTER, schema: { params: { type: 'object', required: ['date'], properties: { date: DATE } } } },
    async (req: FastifyRequest<{ Params: { date: string } }>, reply) => {
      try {
        return await port.dayReport(req.params.date);
      } catch (e) {
        return badDate(reply, e);
      }
    },
  );
};
