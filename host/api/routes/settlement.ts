import { COUNTER, type RoutePlugin } from '../context.js';

/** Settlement: its state, and "settle now" (docs/host-api.md §7.1, §7.2). */
export const settlementRoutes: RoutePlugin = async (app, { ctx }) => {
  const { port } = ctx;
  const body = () => ({ ...port.settlementStatus(), ...port.queueSummary() });
  app.get('/api/v1/settlement', { config: COUNTER }, async () => body());
  app.post('/api/v1/settlement', { config: COUNTER }, async (_req, reply) => {
    port.settleNow();
    return reply.code(202).send(body());
  });
};
