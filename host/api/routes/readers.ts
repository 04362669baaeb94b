import type { FastifyRequest } from 'fastify';
import { fromHex, toHex } from '../../../protocol/bytes.js';
import { ADMIN, COUNTER, type RoutePlugin } from '../context.js';

/** Readers and the card in each (docs/host-api.md §5). */
export const readerRoutes: RoutePlugin = async (app, { ctx }) => {
  const { port } = ctx;
  app.get('/api/v1/readers', { config: COUNTER }, async () => ({ readers: port.readers() }));

  app.get(
    '/api/v1/readers/:name/card',
    { config: COUNTER },
    async (req: FastifyRequest<{ Params: { name: string } }>) => port.inspectCard(req.params.name),
  );

  app.post(
    '/api/v1/readers/:name/apdu',
    {
      config: ADMIN,
      schema: {
        body: {
          type: 'object',
          required: ['apdu'],
          additionalProperties: false,
          properties: { apdu: { type: 'string', pattern: '^([0-9a-fA-F]{2}){4,65544}$' }, raw: { type: 'boolean' } },
        },
      },
    },
    async (req: FastifyRequest<{ Params: { name: string }; Body: { apdu: string; raw?: boolean } }>) => {
      const res = await port.transmitApdu(req.params.name, fromHex(req.body.apdu), req.body.raw === true);
      return { response: toHex(res), sw: toHex(res.subarray(-2)).toUpperCase() };
    },
  );
};
