import { randomBytes } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { CardpostError } from '../../../protocol/errors.js';
import { STATEMENT_DEFAULT, maskCardId, statementLimit } from '../../sale/statement.js';
import { SALE_VIEW, onlyDisplay, type RoutePlugin } from '../context.js';

/** How long the customer display may read a statement the counter showed (seconds). */
export const STATEMENT_OFFER_SECONDS = 180;

interface Offer {
  id: string;
  reader: string;
  cardId: string;
  until: number;
}

const notOffered = (why: string) =>
  new CardpostError(
    'STATEMENT_NOT_OFFERED',
    `the customer display may not read this statement: ${why}`,
    'the cashier shows the statement from the counter (Show statement on display) with the card in the reader',
  );

/**
 * The holder's statement (docs/host-api.md §5a). The counter reads the card in any reader; with
 * `show=true` it also offers that statement to the customer display for STATEMENT_OFFER_SECONDS. The
 * display (scope `display`) learns of the offer from GET /api/v1/statement/offer and may read only the
 * offered reader, and only while the card in it is still the card the counter read: never another
 * reader's card, nor a card put in since. The display gets the card id masked.
 */
export const statementRoutes: RoutePlugin = async (app, { ctx }) => {
  const { port } = ctx;
  let offer: Offer | undefined;
  const current = () => (offer && offer.until > ctx.nowSeconds() ? offer : undefined);

  app.get(
    '/api/v1/readers/:name/statement',
    {
      config: SALE_VIEW,
      schema: {
        params: {
          type: 'object',
          required: ['name'],
          additionalProperties: false,
          properties: { name: { type: 'string', minLength: 1, maxLength: 200, pattern: '^[^\\u0000-\\u001f]+$' } },
        },
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            limit: { type: 'string', pattern: '^[0-9]{1,3}$' },
            show: { type: 'string', enum: ['true', 'false'] },
          },
        },
      },
    },
    async (req: FastifyRequest<{ Params: { name: string }; Querystring: { limit?: string; show?: string } }>) => {
      const limit = req.query.limit === undefined ? STATEMENT_DEFAULT : statementLimit(req.query.limit);
      const name = req.params.name;
      if (onlyDisplay(ctx, req)) {
        const o = current();
        if (!o) throw notOffered('the counter has not shown a statement lately');
        if (o.reader !== name) throw notOffered('the counter showed the statement of another reader');
        const s = await port.cardStatement(name, limit);
        if (s.cardId !== o.cardId) throw notOffered('the card in the reader is not the one the counter showed');
        const { cardId: _hidden, ...shown } = s;
        return shown;
      }
      const s = await port.cardStatement(name, limit);
      if (req.query.show === 'true')
        offer = {
          id: randomBytes(8).toString('hex'),
          reader: name,
          cardId: s.cardId,
          until: ctx.nowSeconds() + STATEMENT_OFFER_SECONDS,
        };
      return s;
    },
  );

  app.get('/api/v1/statement/offer', { config: SALE_VIEW }, async () => {
    const o = current();
    return { offer: o ? { id: o.id, reader: o.reader, card: maskCardId(o.cardId), until: o.until } : null };
  });
};
