import { ADMIN, type RoutePlugin } from '../context.js';

/** Prometheus metrics (docs/daemon.md): the admin scope only. */
export const metricsRoutes: RoutePlugin = async (app, { ctx }) => {
  app.get('/metrics', { config: ADMIN }, async (_req, reply) => {
    const m = await ctx.port.metricsText();
    return reply.type(m.contentType).send(m.body);
  });
};
