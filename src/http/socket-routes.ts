import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import type { CollabServer } from '../collab/collab-server.ts';
import type { SocketAccess, SocketHandlers } from '../collab/ports.ts';
import { isValidDocumentId } from '../docs/document-id.ts';
import { closeCodeFor } from '../errors.ts';
import { admitSocket } from './socket-limits.ts';

/** /ws/:id (plain y-websocket) and /collab (Hocuspocus), both onto the same rooms. */
export function registerSocketRoutes(
  app: FastifyInstance,
  collab: CollabServer,
  accessFor: (ip: string) => SocketAccess,
): void {
  app.get<{ Params: { id: string }; Querystring: { token?: string } }>(
    '/ws/:id',
    { websocket: true },
    (socket, request) => {
      const { id } = request.params;
      if (!isValidDocumentId(id)) {
        socket.close(closeCodeFor('INVALID_DOCUMENT_ID'), 'INVALID_DOCUMENT_ID');
        return;
      }
      const token = typeof request.query.token === 'string' ? request.query.token : '';
      wire(socket, request, (s, r) => collab.acceptYWebsocket(s, r, accessFor(request.ip), id, token));
    },
  );

  app.get('/collab', { websocket: true }, (socket, request) => {
    wire(socket, request, (s, r) => collab.acceptHocuspocus(s, r, accessFor(request.ip)));
  });
}

/** Listeners are attached synchronously: anything arriving while a room loads is buffered by it. */
function wire(
  socket: WebSocket,
  request: FastifyRequest,
  accept: (socket: WebSocket, request: Request) => SocketHandlers,
): void {
  mapOversizeCloseCode(socket);
  // Foreign Origin or too many connections from this address: closed before a room sees it.
  const allowMessage = admitSocket(socket, request);
  if (!allowMessage) return;
  const handlers = accept(socket, toFetchRequest(request));
  // Nothing below holds on to the Fastify request: a socket may live for hours, and the
  // request (with its logger and raw message) would stay in memory all that time.
  const log = request.log;
  socket.on('message', (data, isBinary) => {
    if (allowMessage()) handlers.message(toBytes(data), isBinary);
  });
  socket.on('close', (code, reason) => handlers.close(code, reason.toString()));
  socket.on('error', (error) => log.debug({ err: error }, 'websocket error'));
}

/**
 * `ws` enforces maxPayload as soon as a frame header announces too many bytes (memory stays
 * bounded) but closes with 1009; our contract says 4413 MESSAGE_TOO_LARGE.
 */
function mapOversizeCloseCode(socket: WebSocket): void {
  const close = socket.close.bind(socket);
  socket.close = (code?: number, reason?: string | Buffer) =>
    code === 1009 ? close(closeCodeFor('MESSAGE_TOO_LARGE'), 'MESSAGE_TOO_LARGE') : close(code, reason);
}

function toBytes(data: WebSocket.RawData): Uint8Array {
  if (Array.isArray(data)) return new Uint8Array(Buffer.concat(data));
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

function toFetchRequest(request: FastifyRequest): Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(request.headers)) {
    if (typeof value === 'string') headers.set(name, value);
    else if (Array.isArray(value)) for (const item of value) headers.append(name, item);
  }
  return new Request(`http://${request.hostname}${request.url}`, { headers });
}
