import { createServer, type IncomingHttpHeaders } from 'node:http';
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
  received: ReceivedDelivery[];
  /** Requests answered 2xx for this delivery id (Tandem-Delivery). */
  succeeded(deliveryId: string): number;
  close(): Promise<void>;
}

/**
 * A real HTTP server on port 0 standing for a customer's webhook endpoint. `answer` chooses
 * the status of each request from how many came before it (0 for the first).
 */
export async function startWebhookReceiver(answer: (index: number) => number = () => 200): Promise<WebhookReceiver> {
  const received: ReceivedDelivery[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const status = answer(received.length);
      received.push({ headers: request.headers, rawBody: Buffer.concat(chunks).toString('utf8'), answered: status });
      response.writeHead(status, { 'content-type': 'text/plain' }).end(status < 300 ? 'ok' : 'receiver says no');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks/tandem`,
    received,
    succeeded: (deliveryId) =>
      received.filter((delivery) => delivery.headers['tandem-delivery'] === deliveryId && delivery.answered >= 200 && delivery.answered < 300).length,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
