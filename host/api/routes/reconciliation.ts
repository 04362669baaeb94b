import type { FastifyRequest } from 'fastify';
import { COUNTER, sendError, type RoutePlugin } from '../context.js';

/** The shop day's settled totals, the counter's against the bank's (docs/host-api.md §7.3). */
export const reconciliationRoutes: RoutePlugin = async (app, { ctx }) => {
  app.get(
    '/api/v1/reconciliation',
    {
      config: COUNTER,
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { date: { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}$' } },
        },
      },
    },
    async (req: FastifyRequest<{ Querystring: { date?: string } }>, reply) => {
      try {
        // Without a date: the shop's today, in its time zone (as every day here).
        return await ctx.port.reconcile(req.query.date ?? ctx.port.shopDay().today);
      } catch (e) {
        if (e instanceof RangeError) return sendError(reply, 'REQUEST_INVALID', e.message, 'use YYYY-MM-DD');
        throw e;
      }
    },
  );
};
