import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { MessageType } from './frames.ts';
import type { ClientSocket } from './ports.ts';

const AuthPermissionDenied = 1;
const AuthToken = 0;

/**
 * Lets a plain y-websocket client join Hocuspocus rooms. Hocuspocus frames carry the
 * document name first and wait for an Auth message; y-websocket frames do neither. Inbound
 * frames get the name prefixed (and the connection starts with a synthetic Auth message);
 * outbound frames lose the name, and Hocuspocus-only messages are dropped or turned into a
 * socket close. `socket` maps every close onto the contract's codes (close-codes.ts).
 */
export function createYWebsocketBridge(socket: ClientSocket, documentId: string): YWebsocketBridge {
  return new YWebsocketBridge(socket, encodeAddress(documentId));
}

/**
 * A class rather than objects of closures: every y-websocket socket holds its bridge for as
 * long as it is open, and methods on a prototype cost nothing per socket (bench S4).
 */
class YWebsocketBridge implements ClientSocket {
  /** The socket Hocuspocus writes to: the bridge itself (its readyState, send and close). */
  readonly hocuspocusSide: ClientSocket = this;
  private readonly socket: ClientSocket;
  private readonly prefix: Uint8Array;

  constructor(socket: ClientSocket, prefix: Uint8Array) {
    this.socket = socket;
    this.prefix = prefix;
  }

  get readyState(): number {
    return this.socket.readyState;
  }

  send(data: Uint8Array): void {
    forwardToClient(this.socket, data, this.prefix.length);
  }

  close(code?: number, reason?: string): void {
    this.socket.close(code, reason);
  }

  /** The first frame Hocuspocus expects: authentication with the socket's token. */
  authFrame(token: string): Uint8Array {
    const encoder = encoding.createEncoder();
    encoding.writeUint8Array(encoder, this.prefix);
    encoding.writeVarUint(encoder, MessageType.Auth);
    encoding.writeVarUint(encoder, AuthToken);
    encoding.writeVarString(encoder, token);
    return encoding.toUint8Array(encoder);
  }

  /** A y-websocket frame, addressed to the document for Hocuspocus. */
  toHocuspocus(frame: Uint8Array): Uint8Array {
    const { prefix } = this;
    const addressed = new Uint8Array(prefix.length + frame.length);
    addressed.set(prefix, 0);
    addressed.set(frame, prefix.length);
    return addressed;
  }
}

function encodeAddress(documentId: string): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarString(encoder, documentId);
  return encoding.toUint8Array(encoder);
}

/**
 * Hocuspocus addresses every frame of this connection to its one document, so the address is
 * always our own prefix: skipping its length (rather than decoding the name again for each
 * of a room's recipients) keeps the fan-out cheap.
 */
function forwardToClient(socket: ClientSocket, frame: Uint8Array, bodyStart: number): void {
  const decoder = decoding.createDecoder(frame);
  decoder.pos = bodyStart;
  const type = decoding.readVarUint(decoder);
  switch (type) {
    case MessageType.Sync:
    case MessageType.Awareness:
    case MessageType.QueryAwareness:
      socket.send(frame.subarray(bodyStart));
      return;
    case MessageType.SyncReply: {
      const encoder = encoding.createEncoder();
      encoding.writeVarUint(encoder, MessageType.Sync);
      encoding.writeUint8Array(encoder, frame.subarray(decoder.pos));
      socket.send(encoding.toUint8Array(encoder));
      return;
    }
    case MessageType.Auth:
      if (decoding.readVarUint(decoder) === AuthPermissionDenied) {
        socket.close(4403, decoding.readVarString(decoder));
      }
      return;
    case MessageType.Close:
      // The room dropped this connection; a y-websocket socket serves one room, so it closes.
      // The message has only a reason; `socket` turns it into the contract's code.
      socket.close(undefined, decoding.hasContent(decoder) ? decoding.readVarString(decoder) : undefined);
      return;
    default:
      // SyncStatus, Stateless, Ping: Hocuspocus-only, y-websocket has no use for them.
      return;
  }
}
