import { createServer, type IncomingHttpHeaders } from 'node:http';
import { createServer as createTcpServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export interface ReceivedDelivery {
  headers: IncomingHttpHeaders;
  /** The body exactly as it arrived: what the signature covers. */
  rawBody: string;
  /** The status the receiver answered with. */
  answered: number;
}

export interface WebhookReceiver {
  url: string;
  port: number;
  received: ReceivedDelivery[];
  /** Requests answered 2xx for this delivery id (Tandem-Delivery). */
  succeeded(deliveryId: string): number;
  close(): Promise<void>;
}

export interface ReceiverOptions {
  /**
   * Where it listens: 127.0.0.1 unless told; '::' also takes ::1, ::ffff:127.0.0.1 and 0.0.0.0,
   * for tests that try every way of writing "this machine".
   */
  host?: string;
  /** What a refusing (non-2xx) answer says, for tests that check it is never read. */
  refusalBody?: string;
}

/**
 * A real HTTP server on port 0 standing for a customer's webhook endpoint. `answer` chooses
 * the status of each request from how many came before it (0 for the first).
 */
export async function startWebhookReceiver(answer: (index: number) => number = () => 200, options: ReceiverOptions = {}): Promise<WebhookReceiver> {
  const received: ReceivedDelivery[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const status = answer(received.length);
      received.push({ headers: request.headers, rawBody: Buffer.concat(chunks).toString('utf8'), answered: status });
      response.writeHead(status, { 'content-type': 'text/plain' }).end(status < 300 ? 'ok' : (options.refusalBody ?? 'receiver says no'));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, options.host ?? '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks/tandem`,
    port,
    received,
    succeeded: (deliveryId) =>
      received.filter((delivery) => delivery.headers['tandem-delivery'] === deliveryId && delivery.answered >= 200 && delivery.answered < 300).length,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface SilentReceiver {
  url: string;
  /** Connections it accepted (and never answered). */
  connections: number;
  close(): Promise<void>;
}

/** A TCP server on 127.0.0.1 that accepts connections and never answers: a receiver that hangs. */
export async function startSilentReceiver(): Promise<SilentReceiver> {
  const sockets = new Set<Socket>();
  const state = { connections: 0 };
  const server = createTcpServer((socket) => {
    state.connections += 1;
    sockets.add(socket);
    socket.on('error', () => undefined); // the client gives up and resets: expected
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks/silent`,
    get connections() {
      return state.connections;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** An http URL on 127.0.0.1 where nothing listens (the port was free a moment ago): connections are refused. */
export async function closedPortUrl(): Promise<string> {
  const server = createTcpServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}/hooks/closed`;
}
