import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import type { CollabServer } from '../collab/collab-server.ts';
import type { SocketAccess, SocketHandlers } from '../collab/ports.ts';
import { isValidDocumentId } from '../docs/document-id.ts';
import { closeCodeFor } from '../errors.ts';
import type { PendingUpgrades } from './pending-upgrades.ts';
import { admitSocket } from './socket-limits.ts';
import { type Dialect, paceSocket } from './socket-pacing.ts';

/** /ws/:id (plain y-websocket) and /collab (Hocuspocus), both onto the same rooms. */
export function registerSocketRoutes(
  app: FastifyInstance,
  collab: CollabServer,
  accessFor: (ip: string) => SocketAccess,
  upgrades: Pick<PendingUpgrades, 'established'>,
): void {
  app.get<{ Params: { id: string }; Querystring: { token?: string } }>(
    '/ws/:id',
    { websocket: true },
    (socket, request) => {
      upgrades.established(request.raw);
      const { id } = request.params;
      if (!isValidDocumentId(id)) {
        socket.close(closeCodeFor('INVALID_DOCUMENT_ID'), 'INVALID_DOCUMENT_ID');
        return;
      }
      const token = typeof request.query.token === 'string' ? request.query.token : '';
      wire(socket, request, 'y-websocket', (s) => collab.acceptYWebsocket(s, accessFor(request.ip), id, token));
    },
  );

  app.get('/collab', { websocket: true }, (socket, request) => {
    upgrades.established(request.raw);
    wire(socket, request, 'hocuspocus', (s) => collab.acceptHocuspocus(s, accessFor(request.ip)));
  });
}

/**
 * Listeners are attached synchronously: anything arriving while a room loads is buffered by it.
 * Messages go through the socket's pacer, which reads a socket that sends too fast more slowly
 * (it never closes it for that) and hands them to the room in arrival order.
 */
function wire(
  socket: WebSocket,
  request: FastifyRequest,
  dialect: Dialect,
  accept: (socket: WebSocket) => SocketHandlers,
): void {
  let onServerClose = () => {};
  interceptServerClose(socket, () => onServerClose());
  // Foreign Origin or too many connections from this address: closed before a room sees it.
  const limits = admitSocket(socket, request);
  if (!limits) return;
  const handlers = accept(socket);
  // Nothing below holds on to the Fastify request: a socket may live for hours, and the
  // request (with its logger and raw message) would stay in memory all that time. Nor on to
  // its logger (a child of ~300 B per socket) for the few lines a socket may ever write: the
  // same child (Fastify's default: the request id as reqId) is made when one is written.
  const { server, id: reqId } = request;
  const log = () => server.log.child({ reqId });
  releaseUpgradeResponse(request);
  const pacer = paceSocket(socket, {
    dialect,
    limits,
    log,
    deliver: ({ data, isBinary }) => handlers.message(data, isBinary),
  });
  onServerClose = () => pacer.stop();
  socket.on('message', (data, isBinary) => pacer.receive({ data: toBytes(data), isBinary }));
  socket.on('close', (code, reason) => {
    pacer.flush();
    handlers.close(code, reason.toString());
  });
  // Instead of @fastify/websocket's listener, which holds Fastify's request and reply for as
  // long as the socket is open, logs a client that vanished as an error, and destroys the
  // socket. Nothing to end here: `ws` has already sent its close frame (1009 becomes 4413
  // above) and finishes the closing handshake itself; destroyed while the client is still
  // sending, the socket would reset and the client see 1006 instead of the code.
  socket.removeAllListeners('error');
  socket.on('error', (error) => log().debug({ err: error }, 'websocket error'));
}

/**
 * Every close the server makes passes here (ours, the rooms', and `ws`'s own on a protocol
 * error): the pacer stops, and `ws`'s 1009 for an oversized frame becomes the contract's 4413
 * MESSAGE_TOO_LARGE. (`ws` enforces maxPayload as soon as a frame header announces too many
 * bytes, so memory stays bounded.)
 */
function interceptServerClose(socket: WebSocket, onClose: () => void): void {
  const close = socket.close.bind(socket);
  socket.close = (code?: number, reason?: string | Buffer) => {
    onClose();
    if (code === 1009) close(closeCodeFor('MESSAGE_TOO_LARGE'), 'MESSAGE_TOO_LARGE');
    else close(code, reason);
  };
}

/**
 * @fastify/websocket routes the upgrade through a ServerResponse it assigns to the TCP socket
 * and never detaches: the socket would hold that response and its raw request for as long as
 * it is open. Once upgraded, nothing writes HTTP to it again.
 */
function releaseUpgradeResponse(request: FastifyRequest): void {
  const tcp = request.raw.socket as Socket & { _httpMessage?: ServerResponse | null };
  const response = tcp._httpMessage;
  if (response && response.req === request.raw) response.detachSocket(tcp);
}

function toBytes(data: WebSocket.RawData): Uint8Array {
  if (Array.isArray(data)) return new Uint8Array(Buffer.concat(data));
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}
