import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import WebSocket from 'ws';
import * as Y from 'yjs';
import { mulberry32 } from './random.ts';

/**
 * A bare `ws` client for sending hand-made frames (the stock providers only send good ones),
 * and encoders for both framings:
 *  - y-websocket on /ws/:id: [varUint type, body]  (0 sync, 1 awareness, 3 query awareness)
 *  - Hocuspocus on /collab:   [varString document name, varUint type, body]
 */

/** How a socket ended: a WebSocket close, or an HTTP answer instead of the upgrade. */
export type SocketOutcome = { code: number; reason: string } | { httpStatus: number } | { stillOpenAfterMs: number };

export interface RawSocket {
  readonly ws: WebSocket;
  /** Every binary message received, in order. */
  readonly received: Uint8Array[];
  /** Resolves once the upgrade succeeded; rejects when the server answered with HTTP instead. */
  readonly opened: Promise<void>;
  /**
   * Resolves when the socket is closed (or the upgrade was refused), or with
   * `{ stillOpenAfterMs }` if neither happened within 10 s: a server that should have closed
   * the socket and did not fails the assertion at once instead of at the test timeout.
   */
  readonly outcome: Promise<SocketOutcome>;
  send(data: Uint8Array | string): void;
  /** The first received message (already received or future) that `match` accepts. */
  waitForMessage(match: (message: Uint8Array) => boolean, what: string, timeoutMs?: number): Promise<Uint8Array>;
  /** Closes from our side (if still open) and waits for the close to finish. */
  close(): Promise<SocketOutcome>;
}

/**
 * Opens a socket to `wsBaseUrl` + `path`, where `path` goes onto the request line exactly as
 * given: URL parsing would turn `/ws/..` into `/`, so the path is set on the HTTP request
 * itself just before it is sent.
 */
export function openRawSocket(wsBaseUrl: string, path: string): RawSocket {
  const ws = new WebSocket(`${wsBaseUrl}/raw-socket-placeholder`, {
    finishRequest(request) {
      request.path = path;
      request.end();
    },
  });
  const received: Uint8Array[] = [];
  const listeners = new Set<() => void>();
  let resolveOutcome!: (outcome: SocketOutcome) => void;
  const outcome = new Promise<SocketOutcome>((resolve) => {
    resolveOutcome = resolve;
  });
  let ended = false;
  const end = (result: SocketOutcome) => {
    ended = true;
    resolveOutcome(result);
    for (const listener of listeners) listener();
  };

  const opened = new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (_request, response) => {
      reject(new Error(`HTTP ${response.statusCode} instead of a WebSocket upgrade`));
      response.resume();
      end({ httpStatus: response.statusCode ?? 0 });
      ws.terminate();
    });
  });
  // Callers that only look at `outcome` must not get an unhandled rejection.
  opened.catch(() => undefined);

  ws.on('message', (data, isBinary) => {
    if (!isBinary) return;
    const buffer = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
    received.push(new Uint8Array(buffer));
    for (const listener of listeners) listener();
  });
  ws.on('close', (code, reason) => end({ code, reason: reason.toString() }));
  // Writing to a socket the server already closed (e.g. the rest of a 20 MB frame) errors
  // here; the close event still follows and carries what the server said.
  ws.on('error', () => undefined);

  const OUTCOME_WAIT_MS = 10_000;
  let bounded: Promise<SocketOutcome> | undefined;
  return {
    ws,
    received,
    opened,
    get outcome() {
      bounded ??= new Promise<SocketOutcome>((resolve) => {
        const timer = setTimeout(() => resolve({ stillOpenAfterMs: OUTCOME_WAIT_MS }), OUTCOME_WAIT_MS);
        void outcome.then((result) => {
          clearTimeout(timer);
          resolve(result);
        });
      });
      return bounded;
    },
    send(data) {
      ws.send(data, { binary: typeof data !== 'string' });
    },
    waitForMessage(match, what, timeoutMs = 10_000) {
      return new Promise<Uint8Array>((resolve, reject) => {
        const check = () => {
          const found = received.find((message) => {
            try {
              return match(message);
            } catch {
              return false; // a message of another shape than the matcher parses
            }
          });
          if (found) {
            done();
            resolve(found);
          } else if (ended) {
            done();
            reject(new Error(`socket closed while waiting for ${what}`));
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        check();
      });
    },
    async close() {
      if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.close();
      return outcome;
    },
  };
}

const build = (write: (encoder: encoding.Encoder) => void): Uint8Array => {
  const encoder = encoding.createEncoder();
  write(encoder);
  return encoding.toUint8Array(encoder);
};

export const MSG_SYNC = 0;
export const MSG_AWARENESS = 1;
export const MSG_AUTH = 2;
export const MSG_QUERY_AWARENESS = 3;
export const MSG_CLOSE = 7;
export const MSG_SYNC_STATUS = 8;
export const SYNC_STEP1 = 0;
export const SYNC_STEP2 = 1;
export const SYNC_UPDATE = 2;
export const AUTH_TOKEN = 0;
export const AUTH_PERMISSION_DENIED = 1;
export const AUTH_AUTHENTICATED = 2;

/** Message bodies as y-websocket sends them (also the part after the name in Hocuspocus). */
export const body = {
  syncStep1: (stateVector: Uint8Array) =>
    build((e) => {
      encoding.writeVarUint(e, MSG_SYNC);
      encoding.writeVarUint(e, SYNC_STEP1);
      encoding.writeVarUint8Array(e, stateVector);
    }),
  syncStep2: (update: Uint8Array) =>
    build((e) => {
      encoding.writeVarUint(e, MSG_SYNC);
      encoding.writeVarUint(e, SYNC_STEP2);
      encoding.writeVarUint8Array(e, update);
    }),
  update: (update: Uint8Array) =>
    build((e) => {
      encoding.writeVarUint(e, MSG_SYNC);
      encoding.writeVarUint(e, SYNC_UPDATE);
      encoding.writeVarUint8Array(e, update);
    }),
  awareness: (awarenessUpdate: Uint8Array) =>
    build((e) => {
      encoding.writeVarUint(e, MSG_AWARENESS);
      encoding.writeVarUint8Array(e, awarenessUpdate);
    }),
  queryAwareness: () => build((e) => encoding.writeVarUint(e, MSG_QUERY_AWARENESS)),
};

/** Hocuspocus framing: the document name, then a body. */
export function addressed(documentName: string, messageBody: Uint8Array): Uint8Array {
  return build((e) => {
    encoding.writeVarString(e, documentName);
    encoding.writeUint8Array(e, messageBody);
  });
}

/** The Auth message a Hocuspocus provider sends first for each document. */
export function authMessage(documentName: string, token: string): Uint8Array {
  return build((e) => {
    encoding.writeVarString(e, documentName);
    encoding.writeVarUint(e, MSG_AUTH);
    encoding.writeVarUint(e, AUTH_TOKEN);
    encoding.writeVarString(e, token);
  });
}

export interface ParsedMessage {
  /** Hocuspocus framing only. */
  name?: string;
  type: number;
  /** Sync step or auth sub-type, when the message has one. */
  subType?: number;
  /** The length-prefixed payload of sync messages. */
  payload?: Uint8Array;
  /** SyncStatus: whether the server applied the update it answers (Hocuspocus writes 1 or 0). */
  applied?: boolean;
}

function parseBody(decoder: decoding.Decoder, name?: string): ParsedMessage {
  const type = decoding.readVarUint(decoder);
  if (type === MSG_SYNC || type === 4 /* SyncReply */) {
    const subType = decoding.readVarUint(decoder);
    return { name, type, subType, payload: decoding.readVarUint8Array(decoder) };
  }
  if (type === MSG_AUTH) return { name, type, subType: decoding.readVarUint(decoder) };
  if (type === MSG_SYNC_STATUS) return { name, type, applied: decoding.readVarUint(decoder) === 1 };
  return { name, type };
}

export function parseYWebsocketMessage(message: Uint8Array): ParsedMessage {
  return parseBody(decoding.createDecoder(message));
}

export function parseHocuspocusMessage(message: Uint8Array): ParsedMessage {
  const decoder = decoding.createDecoder(message);
  const name = decoding.readVarString(decoder);
  return parseBody(decoder, name);
}

export const isYWebsocketSync = (step: number) => (message: Uint8Array) => {
  const parsed = parseYWebsocketMessage(message);
  return parsed.type === MSG_SYNC && parsed.subType === step;
};

export const isAuthenticated = (documentName: string) => (message: Uint8Array) => {
  const parsed = parseHocuspocusMessage(message);
  return parsed.name === documentName && parsed.type === MSG_AUTH && parsed.subType === AUTH_AUTHENTICATED;
};

/** Deterministic pseudo-random bytes (mulberry32), so a failing garbage case can be replayed. */
export function pseudoRandomBytes(length: number, seed: number): Uint8Array {
  const next = mulberry32(seed);
  return Uint8Array.from({ length }, () => next() & 0xff);
}

/**
 * Sends `messages` as binary frames in one TCP write, so that the server gets them in one
 * chunk: `ws` parses a whole chunk before the server can stop reading, which is how a
 * socket's queue can outgrow its pause (the abuse ceiling). Frames are masked with a zero key
 * (any key is valid; this one leaves the payload as is). Reaches into `ws`'s private socket:
 * `ws` has no public way to write several frames at once.
 */
export function sendInOneWrite(ws: WebSocket, messages: Uint8Array[]): void {
  const frames = messages.map((message) => {
    const length = message.byteLength;
    if (length > 0xffff) throw new Error('sendInOneWrite: frames up to 64 KiB only');
    const header = length < 126 ? Buffer.from([0x82, 0x80 | length]) : Buffer.from([0x82, 0x80 | 126, length >> 8, length & 0xff]);
    return Buffer.concat([header, Buffer.alloc(4), message]);
  });
  (ws as unknown as { _socket: { write(data: Buffer): boolean } })._socket.write(Buffer.concat(frames));
}

/** `count` updates from one Yjs client, each inserting one `letter`. */
export function letterUpdates(letter: string, count: number): Uint8Array[] {
  const doc = new Y.Doc();
  const updates: Uint8Array[] = [];
  doc.on('update', (update: Uint8Array) => updates.push(update));
  for (let i = 0; i < count; i++) doc.getText('content').insert(0, letter);
  return updates;
}
