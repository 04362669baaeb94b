import type { FastifyRequest } from 'fastify';
import { FINAL_STATES } from '../../sale/sale-types.js';
import { COUNTER, SALE_VIEW, onlyDisplay, sendError, type RoutePlugin } from '../context.js';

/** A sale the customer display may still look at after it ended (the "paid" screen after a reconnect). */
const DISPLAY_RECENT_MS = 120_000;

/** Sales: start, list, follow, PIN, cancel (docs/host-api.md §4). */
export const saleRoutes: RoutePlugin = async (app, { ctx }) => {
  const { port } = ctx;
  app.post(
    '/api/v1/sales',
    {
      config: COUNTER,
      schema: {
        body: {
          type: 'object',
          required: ['amount'],
          additionalProperties: false,
          properties: {
            amount: { type: 'integer', minimum: 1 },
            currency: { type: 'integer', minimum: 1, maximum: 999 },
            reader: { type: 'string', maxLength: 200 },
          },
        },
        headers: {
          type: 'object',
          properties: { 'idempotency-key': { type: 'string', minLength: 1, maxLength: 255 } },
        },
      },
    },
    async (req: FastifyRequest<{ Body: { amount: number; currency?: number; reader?: string } }>, reply) => {
      const key = req.headers['idempotency-key'];
      // The sale belongs to the client that started it: it ends if no counter client follows it (sale-engine.ts).
      const sale = port.startSale({
        ...req.body,
        ...(typeof key === 'string' ? { requestKey: key } : {}),
        followed: true,
      });
      return reply.code(201).header('Location', `/api/v1/sales/${sale.saleId}`).send(sale);
    },
  );

  app.get('/api/v1/sales', { config: COUNTER }, async () => ({
    active: port.activeSales(),
    recent: port.recentSales(50),
  }));

  app.get(
    '/api/v1/sales/:id',
    { config: SALE_VIEW },
    async (req: FastifyRequest<{ Params: { id: string } }>, reply) => {
      const s = port.sale(req.params.id);
      const display = onlyDisplay(ctx, req);
      // The display sees the sale at the counter now (or just ended), never the history.
      const visible =
        s !== undefined && (!display || !FINAL_STATES.has(s.state) || Date.now() - s.updatedAt < DISPLAY_RECENT_MS);
      if (!visible)
        return sendError(reply, 'SALE_NOT_FOUND', `no sale ${req.params.id}`, 'list sales with GET /api/v1/sales');
      if (!display) port.followSale(s.saleId); // a counter client following its sale keeps it alive
      return s;
    },
  );

  app.post(
    '/api/v1/sales/:id/pin',
    {
      config: SALE_VIEW,
      schema: {
        body: {
          type: 'object',
          required: ['pin'],
          additionalProperties: false,
          properties: { pin: { type: 'string', maxLength: 32 } },
        },
      },
    },
    async (req: FastifyRequest<{ Params: { id: string }; Body: { pin: string } }>, reply) => {
      port.submitPin(req.params.id, req.body.pin);
      return reply.code(202).send({ accepted: true });
    },
  );

  app.post('/api/v1/sales/:id/cancel', { config: COUNTER }, async (req: FastifyRequest<{ Params: { id: string } }>) =>
    port.cancelSale(req.params.id),
  );
};
