import type { FastifyRequest } from 'fastify';
import { COUNTER, SALE_VIEW, onlyDisplay, sendError, type RoutePlugin } from '../context.js';

type Step = 'current' | 'puk' | 'new' | 'confirm';
/** Only a paired customer display types digits (the bearer token, which holds every scope, is refused in the handler). */
const DISPLAY = { access: ['display'] } as const;
const notFound = (id: string) =>
  [
    'PIN_SERVICE_NOT_FOUND',
    `no PIN service ${id}`,
    'start one from the counter page or with `cardpost card change-pin`',
  ] as const;

/**
 * The PIN service (docs/host-api.md §5.8): the counter starts, watches and cancels; the customer
 * display alone sends the digits. The display sees only the current service, as it sees only the current sale.
 */
export const pinServiceRoutes: RoutePlugin = async (app, { ctx }) => {
  const { port } = ctx;
  app.post(
    '/api/v1/pin-services',
    {
      config: COUNTER,
      schema: {
        body: {
          type: 'object',
          required: ['kind'],
          additionalProperties: false,
          properties: {
            kind: { type: 'string', enum: ['change', 'unblock'] },
            reader: { type: 'string', minLength: 1, maxLength: 200 },
          },
        },
      },
    },
    async (req: FastifyRequest<{ Body: { kind: 'change' | 'unblock'; reader?: string } }>, reply) =>
      reply.code(201).send(port.startPinService(req.body)),
  );

  app.get('/api/v1/pin-services/current', { config: SALE_VIEW }, async (_req, reply) => {
    const v = port.currentPinService();
    return v ?? sendError(reply, ...notFound('is running'));
  });

  app.get(
    '/api/v1/pin-services/:id',
    { config: SALE_VIEW },
    async (req: FastifyRequest<{ Params: { id: string } }>, reply) => {
      const display = onlyDisplay(ctx, req);
      const v = display ? port.currentPinService() : port.pinService(req.params.id);
      if (!v || (display && v.serviceId !== req.params.id)) return sendError(reply, ...notFound(req.params.id));
      return v;
    },
  );

  app.post(
    '/api/v1/pin-services/:id/entry',
    {
      config: DISPLAY,
      schema: {
        body: {
          type: 'object',
          required: ['step', 'pin'],
          additionalProperties: false,
          properties: {
            step: { type: 'string', enum: ['current', 'puk', 'new', 'confirm'] },
            pin: { type: 'string', maxLength: 32 },
          },
        },
      },
    },
    async (req: FastifyRequest<{ Params: { id: string }; Body: { step: Step; pin: string } }>, reply) => {
      // The bearer token carries every scope: a script or the CLI on the counter PC is not the customer's screen.
      // A browser paired as a display (even one also paired as the counter, e.g. a one-PC demo) is.
      if (/^Bearer /i.test(req.headers.authorization ?? ''))
        return sendError(
          reply,
          'PIN_ENTRY_NOT_HERE',
          'PIN service digits are taken from the customer display only',
          "the customer types on the customer display's keypad (or the terminal's pad)",
        );
      port.pinServiceEntry(req.params.id, req.body.step, req.body.pin);
      return reply.code(202).send({ accepted: true });
    },
  );

  app.post(
    '/api/v1/pin-services/:id/cancel',
    { config: SALE_VIEW },
    async (req: FastifyRequest<{ Params: { id: string } }>, reply) => {
      const display = onlyDisplay(ctx, req);
      if (display && port.currentPinService()?.serviceId !== req.params.id)
        return sendError(reply, ...notFound(req.params.id));
      return port.cancelPinService(req.params.id, display ? 'customer' : 'merchant');
    },
  );
};
