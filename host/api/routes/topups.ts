import type { FastifyRequest } from 'fastify';
import { COUNTER, SALE_VIEW, sendError, type RoutePlugin } from '../context.js';

interface TopupBody {
  amount: number;
  currency?: number;
  reader?: string;
  method?: 'cash' | 'account';
}

/** Top-up and sync of the card in a reader, and the day's top-up figures (docs/host-api.md §5.6). */
export const topupRoutes: RoutePlugin = async (app, { ctx }) => {
  const { port } = ctx;
  app.post(
    '/api/v1/topups',
    {
      config: COUNTER,
      schema: {
        body: {
          type: 'object',
          required: ['amount'],
          additionalProperties: false,
          properties: {
            amount: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
            currency: { type: 'integer', minimum: 1, maximum: 999 },
            reader: { type: 'string', minLength: 1, maxLength: 200 },
            method: { type: 'string', enum: ['cash', 'account'] },
          },
        },
        headers: {
          type: 'object',
          properties: { 'idempotency-key': { type: 'string', minLength: 1, maxLength: 255, pattern: '^[!-~]+$' } },
        },
      },
    },
    async (req: FastifyRequest<{ Body: TopupBody }>, reply) => {
      const key = req.headers['idempotency-key'];
      const t = (await port.startTopup({
        ...req.body,
        ...(typeof key === 'string' ? { requestKey: key } : {}),
      })) as { topupId: string };
      return reply.code(201).header('Location', `/api/v1/topups/${t.topupId}`).send(t);
    },
  );

  app.get(
    '/api/v1/topups',
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
    async (req: FastifyRequest<{ Querystring: { date?: string } }>) => port.topupDay(req.query.date),
  );

  // The customer display's "new balance" screen: the newest top-up loaded and the newest void done in the
  // last 2 minutes (card masked).
  app.get('/api/v1/topups/latest', { config: SALE_VIEW }, async () => ({
    topup: port.latestTopup(120_000) ?? null,
    void: port.moneyBack().latestVoid(120_000) ?? null,
  }));

  app.get('/api/v1/topups/:id', { config: COUNTER }, async (req: FastifyRequest<{ Params: { id: string } }>, reply) => {
    const t = port.topup(req.params.id);
    if (t === undefined)
      return sendError(
        reply,
        'TOPUP_NOT_FOUND',
        `no top-up ${req.params.id}`,
        "list the day's top-ups with GET /api/v1/topups",
      );
    return t;
  });
};
