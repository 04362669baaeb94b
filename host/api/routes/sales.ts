import type { FastifyRequest } from 'fastify';
import { FINAL_STATES } from '../../sale/sale-types.js';
import { HISTORY_QUERY_PATTERN } from '../../close/sale-history.js';
import { COUNTER, SALE_VIEW, onlyDisplay, sendError, type RoutePlugin } from '../context.js';
import { badDate } from './closes.js';

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

  // Without a query: the sales going on and the newest 50. With `date` or `q`: that shop day's history (§4.2a).
  app.get(
    '/api/v1/sales',
    {
      config: COUNTER,
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            date: { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}$' },
            q: { type: 'string', pattern: HISTORY_QUERY_PATTERN },
          },
        },
      },
    },
    async (req: FastifyRequest<{ Querystring: { date?: string; q?: string } }>, reply) => {
      const { date, q } = req.query;
      if (date === undefined && q === undefined) return { active: port.activeSales(), recent: port.recentSales(50) };
      try {
        return port.saleHistory({ date: date ?? port.shopDay().today, ...(q !== undefined ? { q } : {}) });
      } catch (e) {
        return badDate(reply, e);
      }
    },
  );

  // A paid sale's receipt again, as text lines marked "副本 / COPY" (docs/host-api.md §4.2b).
  app.get(
    '/api/v1/sales/:id/receipt',
    { config: COUNTER },
    async (req: FastifyRequest<{ Params: { id: string } }>, reply) => {
      const sale = port.sale(req.params.id);
      if (!sale)
        return sendError(
          reply,
          'SALE_NOT_FOUND',
          `no sale ${req.params.id}`,
          "find it in the day's history: GET /api/v1/sales?date=YYYY-MM-DD",
        );
      const copy = port.saleReceipt(sale.saleId);
      if (!copy)
        return sendError(
          reply,
          'SALE_NO_RECEIPT',
          `sale ${sale.saleId} has no receipt: it is ${sale.state}, not paid`,
          'only a paid sale has a receipt; nothing was charged for this one unless it is unconfirmed',
        );
      return copy;
    },
  );

  // The same copy on the counter's receipt printer (docs/host-api.md §4.2b): queued, never waits for paper.
  app.post(
    '/api/v1/sales/:id/receipt/print',
    { config: COUNTER },
    async (req: FastifyRequest<{ Params: { id: string } }>, reply) => {
      const copy = port.sale(req.params.id) && port.saleReceipt(req.params.id);
      if (!copy)
        return sendError(
          reply,
          port.sale(req.params.id) ? 'SALE_NO_RECEIPT' : 'SALE_NOT_FOUND',
          `sale ${req.params.id} has no receipt to print`,
          "only a paid sale has a receipt: find it in the day's history (GET /api/v1/sales?date=YYYY-MM-DD)",
        );
      return reply
        .code(202)
        .send(port.printReceipt(copy.receipt as Parameters<typeof port.printReceipt>[0], { copy: true }));
    },
  );

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
      // On a counter whose PINs are typed on the customer display, only a paired display sends them: not
      // the counter page, not a script or the CLI with the bearer token (it holds every scope).
      const fromDisplay = ctx.granted(req).has('display') && !/^Bearer /i.test(req.headers.authorization ?? '');
      if (port.counterSettings().pinEntry === 'customer-display' && !fromDisplay)
        return sendError(
          reply,
          'PIN_ENTRY_NOT_HERE',
          "this counter takes the customer's PIN on the customer display only",
          "the customer types the PIN on the customer display's keypad; set sale.pinEntry to counter only for a counter without a customer display",
        );
      port.submitPin(req.params.id, req.body.pin);
      return reply.code(202).send({ accepted: true });
    },
  );

  // 200 with the final state once the cancel took effect (the card step stops within the bounded wait), else 202
  // with the state it is still in (docs/host-api.md §4.5): the answer never says "cancelled" before it is.
  app.post(
    '/api/v1/sales/:id/cancel',
    { config: COUNTER },
    async (req: FastifyRequest<{ Params: { id: string } }>, reply) => {
      const s = await port.cancelSale(req.params.id);
      return reply.code(FINAL_STATES.has(s.state) ? 200 : 202).send(s);
    },
  );
};
