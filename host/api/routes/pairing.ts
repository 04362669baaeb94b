import type { FastifyRequest } from 'fastify';
import { PAGE_SESSIONS, pageSessionValue, type PageScope } from '../access.js';
import { tokenMatches } from '../auth.js';
import { PUBLIC, sendError, type RoutePlugin } from '../context.js';

/** Health and pairing: the two routes anyone may call (docs/host-api.md §2.2, §8). */
export const pairingRoutes: RoutePlugin = async (app, { ctx }) => {
  app.get('/api/v1/health', { config: PUBLIC }, async () => ({ status: 'ok' }));

  app.post(
    '/api/v1/pair',
    {
      config: PUBLIC,
      schema: {
        body: {
          type: 'object',
          required: ['token'],
          additionalProperties: false,
          properties: {
            token: { type: 'string', maxLength: 200 },
            scope: { type: 'string', enum: ['counter', 'display'] },
          },
        },
      },
    },
    async (req: FastifyRequest<{ Body: { token: string; scope?: PageScope } }>, reply) => {
      if (!tokenMatches(req.body.token.trim(), ctx.token))
        return sendError(
          reply,
          'PAIRING_REFUSED',
          "that is not this daemon's token",
          `copy it from ${ctx.port.apiTokenFile()}`,
        );
      // Each page its own cookie and scope (access.ts); a new token (delete the api-token file) unpairs every page.
      const scope = req.body.scope ?? 'counter';
      const session = PAGE_SESSIONS[scope];
      reply.header(
        'Set-Cookie',
        `${session.cookie}=${pageSessionValue(ctx.token, scope, ctx.nowSeconds())}; HttpOnly; SameSite=Strict; Path=/api/; Max-Age=${session.lifeSeconds}`,
      );
      return { paired: true, scope, expiresIn: session.lifeSeconds };
    },
  );
};
