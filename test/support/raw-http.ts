import { Agent, request } from 'node:http';
import { connect } from 'node:net';

/**
 * HTTP to the local API with the request target exactly as written: `http.request` with a literal
 * `path` (Node sends it as is: no dot-segment removal, no re-encoding, fragments and absolute forms
 * included), and a bare socket when the whole request line must be controlled.
 */

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** One request; an event stream (text/event-stream) is closed once its headers are in. */
export function httpRaw(
  port: number,
  o: {
    method?: string;
    target: string;
    headers?: Record<string, string>;
    body?: string;
    agent?: Agent;
    timeoutMs?: number;
  },
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const length =
      o.body !== undefined
        ? { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(o.body)) }
        : {};
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: o.method ?? 'GET',
        path: o.target,
        headers: { ...length, ...o.headers },
        ...(o.agent ? { agent: o.agent } : {}),
      },
      (res) => {
        if (String(res.headers['content-type'] ?? '').startsWith('text/event-stream')) {
          res.destroy();
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text: '' });
          return;
        }
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.setTimeout(o.timeoutMs ?? 10_000, () =>
      req.destroy(new Error(`no answer to ${o.method ?? 'GET'} ${o.target}`)),
    );
    req.on('error', reject);
    req.end(o.body);
  });
}

/**
 * Send `head` (request line and headers, CRLF-separated, without the blank line) and a body over a
 * fresh socket with `Connection: close`; resolve with the status and the raw answer (status 0: the
 * server closed the connection without answering).
 */
export function socketRequest(port: number, head: string, body = ''): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port }, () => {
      const length = body ? `\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}` : '';
      s.end(`${head}${length}\r\nConnection: close\r\n\r\n${body}`);
    });
    let out = '';
    s.setTimeout(10_000, () => s.destroy(new Error(`no answer to ${head.split('\r\n')[0]}`)));
    s.on('data', (c: Buffer) => {
      out += c.toString('utf8');
    });
    s.on('error', reject);
    s.on('close', () => {
      if (out === '') {
        resolve({ status: 0, text: '' });
        return;
      } // closed without an answer
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(out);
      if (!m) {
        reject(new Error(`not an HTTP answer to ${head.split('\r\n')[0]}: ${JSON.stringify(out.slice(0, 200))}`));
        return;
      }
      resolve({ status: Number(m[1]), text: out });
    });
  });
}

/** The JSON body of a socketRequest answer (after the blank line; the API sends no chunked JSON errors). */
export function socketJson<T = unknown>(text: string): T {
  const i = text.indexOf('\r\n\r\n');
  return JSON.parse(text.slice(i + 4)) as T;
}

/** Pair a page: `name=value` of the cookie the daemon set (throws when it set none). */
export async function pairCookie(
  url: string,
  token: string,
  scope?: 'counter' | 'display',
): Promise<{ cookie: string; setCookie: string; status: number; body: unknown }> {
  const res = await fetch(`${url}/api/v1/pair`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ token, ...(scope ? { scope } : {}) }),
  });
  const setCookie = res.headers.get('set-cookie') ?? '';
  const text = await res.text();
  const body: unknown = text ? JSON.parse(text) : undefined;
  if (res.status !== 200 || !setCookie)
    throw new Error(`pairing (${scope ?? 'default'}) answered ${res.status} ${text}`);
  return { cookie: setCookie.split(';')[0]!, setCookie, status: res.status, body };
}

/** Server-Sent Events from a fetch body until `stop` says so (or the time runs out). */
export async function readSse(
  res: Response,
  stop: (events: { event: string; data: unknown }[]) => boolean,
  timeoutMs = 10_000,
): Promise<{ event: string; data: unknown }[]> {
  const events: { event: string; data: unknown }[] = [];
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  const timer = setTimeout(() => {
    void reader.cancel();
  }, timeoutMs);
  try {
    while (!stop(events)) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += decoder.decode(value, { stream: true });
      let i: number;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (event && data !== undefined) events.push({ event, data: JSON.parse(data) });
      }
    }
  } finally {
    clearTimeout(timer);
    await reader.cancel().catch(() => undefined);
  }
  return events;
}
