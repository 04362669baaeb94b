import { Readable } from 'node:stream';
import type { FastifyRequest } from 'fastify';
import { rejectionAdvice } from '../../settlement/rejection-advice.js';
import type { RecordStatus } from '../../store/host-store.js';
import { ADMIN, COUNTER, type RoutePlugin } from '../context.js';

const STATUSES: readonly RecordStatus[] = ['pending', 'sending', 'settled', 'duplicate', 'rejected', 'held'];

/** The queue of signed records, and its export for audit (docs/host-api.md §6). */
export const queueRoutes: RoutePlugin = async (app, { ctx }) => {
  const { port } = ctx;
  app.get(
    '/api/v1/queue',
    {
      config: COUNTER,
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            status: { type: 'string', enum: [...STATUSES] },
            after: { type: 'string', pattern: '^(0|[1-9][0-9]{0,14})$' },
            limit: { type: 'string', pattern: '^([1-9][0-9]{0,2}|1000)$' },
          },
        },
      },
    },
    async (req: FastifyRequest<{ Querystring: { status?: RecordStatus; after?: string; limit?: string } }>) => {
      const records = port.queueRecords({
        ...(req.query.status ? { status: req.query.status } : {}),
        afterSeq: Number(req.query.after ?? 0),
        limit: Number(req.query.limit ?? 100),
      });
      return {
        summary: port.queueSummary(),
        records: records.map((r) => (r.status === 'rejected' ? { ...r, advice: rejectionAdvice(r.reason) } : r)),
        next: records.length ? records.at(-1)!.seq : null,
      };
    },
  );

  // Every record with signature and card certificate, for audit: streamed, so memory stays flat.
  app.get('/api/v1/queue/export', { config: ADMIN }, async (_req, reply) => {
    const rows = port.exportRecords();
    const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64url');
    const stream = Readable.from(
      (function* () {
        yield `{"terminalId":${JSON.stringify(port.terminalId)},"exportedAt":${Math.floor(Date.now() / 1000)},"encoding":"base64url","records":[`;
        let first = true;
        for (const r of rows) {
          yield (
            (first ? '\n' : ',\n') +
            JSON.stringify({
              recordId: r.recordId,
              status: r.status,
              reason: r.reason,
              envelope: b64(r.envelope),
              certificate: r.certificate ? b64(r.certificate) : null,
            })
          );
          first = false;
        }
        yield '\n]}\n';
      })(),
    );
    return reply.type('application/json').send(stream);
  });
};
