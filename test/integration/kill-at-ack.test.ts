import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hocuspocusClient, waitFor, whenSynced } from '../helpers/clients.ts';
import { makeTempDir, removeDir, uniqueDocId } from '../helpers/node.ts';
import { seededRandom } from '../helpers/random.ts';
import {
  killAllServerProcesses,
  type ProcessStorage,
  restartServerProcess,
  type ServerProcess,
  startServerProcess,
} from '../helpers/server-process.ts';

/**
 * INTERFACE.md, Acknowledgements: a Hocuspocus client's SyncStatus and a REST write's 2xx go
 * out only once the update is durable, so `kill -9` of the node right after either loses
 * nothing. The kill is sent from inside this (the client's) process, synchronously in the
 * handler that sees the acknowledgement: the server gets no time to catch up.
 *
 * KILL_AT_ACK_ROUNDS raises the number of rounds (each kills a server process) for a long run.
 */
const ROUNDS = Number(process.env.KILL_AT_ACK_ROUNDS ?? 4);
/** Each round restarts a server (PGlite takes a few seconds on a busy machine). */
const TIMEOUT = { timeout: 30_000 + ROUNDS * 15_000 };

const storages: { name: string; make: () => Promise<ProcessStorage> }[] = [
  { name: 'Postgres', make: async () => ({ kind: 'postgres' }) },
  { name: 'PGlite', make: async () => ({ kind: 'embedded', dataDir: await makeTempDir() }) },
];

describe.each(storages)('kill -9 at the instant of the acknowledgement, on $name', ({ make }) => {
  const dirs: string[] = [];
  afterAll(async () => {
    await killAllServerProcesses();
    for (const dir of dirs) await removeDir(dir);
  });

  /** Each round kills the server; the one restarted on the same storage checks it and serves the next round. */
  let server: ServerProcess;
  beforeAll(async () => {
    const storage = await make();
    if (storage.kind === 'embedded') dirs.push(storage.dataDir);
    server = await startServerProcess(storage);
  });

  /** The document as a freshly started server on the same storage reads it (that server serves the next round). */
  async function storedAfterRestart(killed: ServerProcess, id: string): Promise<string> {
    server = await restartServerProcess(killed);
    const response = await fetch(`${server.url}/v1/documents/${id}`, { headers: { accept: 'text/markdown' } });
    expect(response.status).toBe(200);
    return response.text();
  }

  it(`loses nothing a Hocuspocus client saw acknowledged (unsyncedChanges reached 0), ${ROUNDS} rounds`, TIMEOUT, async () => {
    const random = seededRandom(0xac4 + ROUNDS);
    const results: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const victim = server;
      const id = uniqueDocId('ack-kill');
      const client = hocuspocusClient(victim.wsUrl, id);
      try {
        await whenSynced(client.provider);
        await waitFor(() => client.provider.unsyncedChanges === 0, 'the first sync to be acknowledged');

        // Some typing that is stored for sure, then a burst whose acknowledgement kills the server.
        let typed = 0;
        const type = () => {
          const at = Math.floor(random() * (client.text.length + 1));
          client.text.insert(at, `<${typed++}>`);
        };
        for (let i = 0; i < 20; i++) type();
        await waitFor(() => client.provider.unsyncedChanges === 0, 'the warm-up typing to be acknowledged');

        let acknowledged: string | null = null;
        client.provider.on('unsyncedChanges', ({ number }: { number: number }) => {
          if (number !== 0 || acknowledged !== null) return;
          process.kill(victim.pid, 'SIGKILL');
          acknowledged = client.text.toString();
          client.provider.destroy(); // it must not resend anything to the next server
        });
        // Half the rounds type the burst in one go (one frame per insert, acknowledged after
        // the last), half one insert per tick (each acknowledgement may be the one that kills).
        const burst = 5 + Math.floor(random() * 60);
        if (round % 2 === 0) {
          for (let i = 0; i < burst; i++) type();
        } else {
          for (let i = 0; i < burst && acknowledged === null; i++) {
            type();
            await new Promise((resolve) => setImmediate(resolve));
          }
        }
        await waitFor(() => acknowledged !== null, 'the burst to be acknowledged');
        expect(await victim.exited).toEqual({ code: null, signal: 'SIGKILL' });

        const stored = await storedAfterRestart(victim, id);
        results.push(`${stored.length}/${acknowledged!.length}`);
        expect(stored, `round ${round}: stored after restart vs acknowledged`).toBe(acknowledged);
      } finally {
        client.provider.destroy();
      }
    }
    console.info(`kill at SyncStatus: characters kept/acknowledged per round: ${results.join(' ')}`);
  });

  it(`loses nothing a REST write answered 2xx for, ${ROUNDS} rounds`, TIMEOUT, async () => {
    const random = seededRandom(0x2e57 + ROUNDS);
    const results: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const victim = server;
      const id = uniqueDocId('rest-kill');
      const created = await fetch(`${victim.url}/v1/documents`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ id, content: '# Log\n' }),
      });
      expect(created.status).toBe(201);

      // Many appends in flight at once; the k-th 2xx kills the server in its response handler.
      const inFlight = 40;
      const killAt = 1 + Math.floor(random() * 20);
      const answered: string[] = [];
      await new Promise<void>((resolve) => {
        let settled = 0;
        const done = () => {
          settled += 1;
          if (settled === inFlight) resolve();
        };
        for (let i = 0; i < inFlight; i++) {
          const marker = `line ${i}\n`;
          const body = JSON.stringify({ edits: [{ append: marker }] });
          const call = request(
            `${victim.url}/v1/documents/${id}`,
            { method: 'PATCH', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
            (response) => {
              if (response.statusCode === 200 && answered.length < killAt) {
                answered.push(marker);
                if (answered.length === killAt) process.kill(victim.pid, 'SIGKILL');
              }
              response.resume();
              response.on('end', done).on('error', done);
            },
          );
          call.on('error', done);
          call.end(body);
        }
      });
      expect(answered).toHaveLength(killAt);
      expect(await victim.exited).toEqual({ code: null, signal: 'SIGKILL' });

      const stored = await storedAfterRestart(victim, id);
      const lost = answered.filter((marker) => !stored.includes(marker));
      results.push(`${answered.length - lost.length}/${answered.length}`);
      expect(lost, `round ${round}: answered 2xx but not stored`).toEqual([]);
    }
    console.info(`kill at REST 2xx: answered writes kept per round: ${results.join(' ')}`);
  });
});
