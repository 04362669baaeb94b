import { SALE_VIEW, onlyDisplay, type RoutePlugin } from '../context.js';
import { displayStatusBody, statusBody } from '../status.js';

/** The whole picture of the counter, narrowed for the customer display (docs/host-api.md §8). */
export const statusRoutes: RoutePlugin = async (app, { ctx }) => {
  app.get('/api/v1/status', { config: SALE_VIEW }, async (req) =>
    onlyDisplay(ctx, req) ? displayStatusBody(ctx.port) : statusBody(ctx.port),
  );
};
