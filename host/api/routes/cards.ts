import type { FastifyRequest } from 'fastify';
import { COUNTER, type RoutePlugin } from '../context.js';

/** Cards by id, whether in a reader or not (docs/host-api.md §11): report one lost or stolen. */
export const cardRoutes: RoutePlugin = async (app, { ctx }) => {
  const { port } = ctx;
  app.post(
    '/api/v1/cards/:cardId/lost',
    {
      config: COUNTER,
      schema: {
        params: {
          type: 'object',
          required: ['cardId'],
          properties: { cardId: { type: 'string', pattern: '^[0-9a-fA-F]{16}$' } },
        },
        body: {
          type: 'object',
          additionalProperties: false,
          properties: { reason: { type: 'string', enum: ['lost', 'stolen'] } },
        },
      },
    },
    async (req: FastifyRequest<{ Params: { cardId: string }; Body: { reason?: 'lost' | 'stolen' } | undefined }>) =>
      port.reportLostCard(req.params.cardId, req.body?.reason ?? 'lost'),
  );
};
