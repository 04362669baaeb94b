import type { FastifyRequest } from 'fastify';
import { COUNTER, sendError, type RoutePlugin } from '../context.js';

interface RefundBody {
  saleId: string;
  amount?: number;
  reason?: string;
  reader?: string;
}

const SALE_ID = { type: 'string', minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._-]+$' } as const;

/** Voids and refunds (docs/host-api.md §5.8): host/card-services/voids.ts and refund-service.ts. */
export const moneyBackRoutes: RoutePlugin = async (app, { ctx }) => {
  const { port } = ctx;

  app.post(
    '/api/v1/sales/:id/void',
    {
      config: COUNTER,
      schema: {
        params: { type: 'object', required: ['id'], properties: { id: SALE_ID } },
        body: {
          type: 'object',
          additionalProperties: false,
          properties: { reader: { type: 'string', minLength: 1, maxLength: 200 } },
        },
      },
    },
    async (req: FastifyRequest<{ Params: { id: string }; Body: { reader?: string } | undefined }>) =>
      port.moneyBack().voidSale(req.params.id, req.body?.reader),
  );

  app.get(
    '/api/v1/sales/:id/void',
    { config: COUNTER, schema: { params: { type: 'object', required: ['id'], properties: { id: SALE_ID } } } },
    async (req: FastifyRequest<{ Params: { id: string } }>, reply) => {
      const v = port.moneyBack().voidOf(req.params.id);
      if (v === undefined)
        return sendError(reply, 'VOID_SALE_UNKNOWN', `sale ${req.params.id} has no void`, 'void it first');
      return v;
    },
  );

  app.post(
    '/api/v1/refunds',
    {
      config: COUNTER,
      schema: {
        body: {
          type: 'object',
          required: ['saleId'],
          additionalProperties: false,
          properties: {
            saleId: SALE_ID,
            amount: { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER },
            reason: { type: 'string', maxLength: 200 },
            reader: { type: 'string', minLength: 1, maxLength: 200 },
          },
        },
        headers: {
          type: 'object',
          properties: { 'idempotency-key': { type: 'string', minLength: 1, maxLength: 255, pattern: '^[!-~]+$' } },
        },
      },
    },
    async (req: FastifyRequest<{ Body: RefundBody }>, reply) => {
      const key = req.headers['idempotency-key'];
      const r = await port.moneyBack().startRefund({
        ...req.body,
        ...(typeof key === 'string' ? { requestKey: key } : {}),
      });
      return reply.code(201).header('Location', `/api/v1/refunds/${r.refundId}`).send(r);
    },
  );

  app.get(
    '/api/v1/refunds',
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
    async (req: FastifyRequest<{ Querystring: { date?: string } }>) => port.moneyBack().day(req.query.date),
  );

  app.get(
    '/api/v1/refunds/:id',
    { config: COUNTER, schema: { params: { type: 'object', required: ['id'], properties: { id: SALE_ID } } } },
    async (req: FastifyRequest<{ Params: { id: string } }>, reply) => {
      const r = port.moneyBack().refund(req.params.id);
      if (r === undefined)
        return sendError(reply, 'REFUND_NOT_FOUND', `no refund ${req.params.id}`, 'list the day’s refunds');
      return r;
    },
  );
};
