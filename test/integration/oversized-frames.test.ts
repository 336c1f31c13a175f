import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uniqueDocId } from '../helpers/node.ts';
import { addressed, authMessage, isAuthenticated, openRawSocket, type RawSocket } from '../helpers/raw-socket.ts';
import { type ServerProcess, startServerProcess } from '../helpers/server-process.ts';

const MAX_MESSAGE_BYTES = 1024 * 1024;
const TOO_LARGE = { code: 4413, reason: 'MESSAGE_TOO_LARGE' };
/** Just past the limit, a little more, and four times it. */
const SIZES = [MAX_MESSAGE_BYTES + 1, MAX_MESSAGE_BYTES + 100, 4 * MAX_MESSAGE_BYTES];
const ROUNDS = 4;

/**
 * A frame over MAX_MESSAGE_BYTES closes with 4413 every time, not only when the close frame
 * happens to win the race: the client is usually still sending when the server refuses, and a
 * server that destroys the socket under those unread bytes resets the connection, so the
 * client sees 1006 (a stock provider then reconnects and uploads it all again). The server
 * runs in its own process, as in production: in one process the race never shows.
 */
describe('frames over MAX_MESSAGE_BYTES, sent by a client from another process', () => {
  let server: ServerProcess;
  beforeAll(async () => {
    server = await startServerProcess({ kind: 'postgres' }, { env: { MAX_MESSAGE_BYTES: String(MAX_MESSAGE_BYTES) } });
  });
  afterAll(async () => {
    server?.kill('SIGTERM');
    await server?.exited;
  });

  const frameOf = (bytes: number) => {
    const frame = new Uint8Array(bytes);
    frame[0] = 0; // a sync message, as far as the first byte goes
    return frame;
  };

  async function outcomesOf(open: () => Promise<{ socket: RawSocket; send: (frame: Uint8Array) => void }>) {
    const outcomes = [];
    for (let round = 0; round < ROUNDS; round++) {
      for (const bytes of SIZES) {
        const { socket, send } = await open();
        send(frameOf(bytes));
        outcomes.push(await socket.outcome);
      }
    }
    return outcomes;
  }
  const every = (outcome: unknown) => Array.from({ length: ROUNDS * SIZES.length }, () => outcome);

  it('close 4413 MESSAGE_TOO_LARGE on /ws/:id, every time', async () => {
    const outcomes = await outcomesOf(async () => {
      const socket = openRawSocket(server.wsUrl, `/ws/${uniqueDocId('oversized-ws')}`);
      await socket.opened;
      return { socket, send: (frame) => socket.send(frame) };
    });
    expect(outcomes).toEqual(every(TOO_LARGE));
  });

  it('close 4413 MESSAGE_TOO_LARGE on /collab, every time, and log nothing at error level', async () => {
    const outcomes = await outcomesOf(async () => {
      const name = uniqueDocId('oversized-collab');
      const socket = openRawSocket(server.wsUrl, '/collab');
      await socket.opened;
      socket.send(authMessage(name, 'anonymous'));
      await socket.waitForMessage(isAuthenticated(name), `authentication of ${name}`);
      return { socket, send: (frame) => socket.send(addressed(name, frame)) };
    });
    expect(outcomes).toEqual(every(TOO_LARGE));
    expect(server.logs.filter((line) => line.level >= 50)).toEqual([]);
  });
});
