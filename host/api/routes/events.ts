import { SALE_VIEW, onlyDisplay, type RoutePlugin } from '../context.js';

/** The live event stream, narrowed for the customer display (docs/host-api.md §9). */
export const eventRoutes: RoutePlugin = async (app, { ctx }) => {
  app.get('/api/v1/events', { config: SALE_VIEW }, (req, reply) => {
    ctx.events.attach(req, reply, onlyDisplay(ctx, req) ? 'display' : 'counter');
  });
};
