/**
 * A database connection that breaks in the middle of a query (the server goes down, a socket is
 * reset) fails that query and nothing else: the process lives on, and the next query opens a new
 * connection. Before, pg's 'error' event on a client the pool had lent out had no listener, and a
 * worker died with it (seen as a sandbox worker exiting by itself during a PostgreSQL restart).
 */
import { createServer, Socket, type Server } from 'node:net';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createDb } from '../db/connect.js';

/** A TCP proxy in front of PostgreSQL that can reset every connection it carries. */
class ResettingProxy {
  private readonly sockets = new Set<Socket>();
  private server!: Server;
  port = 0;

  async start(target: { host: string; port: number }): Promise<void> {
    this.server = createServer((client) => {
      const upstream = new Socket();
      upstream.connect(target.port, target.host);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('error', () => {});
        s.on('close', () => this.sockets.delete(s));
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
  }

  /** An RST to both ends, as a server that vanished would leave them. */
  resetAll(): number {
    const n = this.sockets.size;
    for (const s of this.sockets) s.resetAndDestroy();
    return n;
  }

  async stop(): Promise<void> {
    this.resetAll();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

const proxy = new ResettingProxy();
let url: string;

beforeAll(async () => {
  const server = new URL(inject('pgServerUrl'));
  await proxy.start({ host: server.hostname, port: Number(server.port || 5432) });
  server.host = `127.0.0.1:${proxy.port}`;
  url = server.toString();
});
afterAll(async () => proxy.stop());

describe('a connection reset during a query', () => {
  it('fails that query, leaves the process running, and the next query works', async () => {
    const uncaught: unknown[] = [];
    const onUncaught = (err: unknown) => uncaught.push(err);
    process.on('uncaughtException', onUncaught);
    const db = createDb(url, 2);
    try {
      expect((await sql<{ one: number }>`select 1 as one`.execute(db)).rows[0]!.one).toBe(1);
      const slow = sql`select pg_sleep(5)`.execute(db).then(
        () => 'finished',
        (err: Error) => err.message,
      );
      await new Promise((r) => setTimeout(r, 300));
      expect(proxy.resetAll()).toBeGreaterThan(0);
      expect(await slow).toMatch(/ECONNRESET|terminated/);
      await new Promise((r) => setTimeout(r, 200));
      expect((await sql<{ two: number }>`select 2 as two`.execute(db)).rows[0]!.two).toBe(2);
      expect(uncaught).toEqual([]);
    } finally {
      process.off('uncaughtException', onUncaught);
      await db.destroy();
    }
  });
});
