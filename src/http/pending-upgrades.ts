import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';

/**
 * WebSocket upgrades that have arrived but not yet become sockets (their request is still in
 * Fastify's hooks). Once the server starts closing, Fastify answers such a request 503 on a
 * connection nobody ends (HTTP no longer owns an upgraded one), and the server's close then
 * waits for it forever. So at close they are destroyed, and new upgrades are refused by Node.
 */
export function trackPendingUpgrades(server: Server) {
  const pending = new Set<Duplex>();
  const onUpgrade = (_request: IncomingMessage, socket: Duplex) => {
    pending.add(socket);
    socket.once('close', () => pending.delete(socket));
  };
  server.on('upgrade', onUpgrade);
  return {
    /** The upgrade of this request became a WebSocket: its close is the WebSocket's business now. */
    established(request: IncomingMessage): void {
      pending.delete(request.socket);
    },
    /** At close: no more upgrades (Node destroys them once nobody listens), and none left half done. */
    abort(): void {
      server.removeAllListeners('upgrade');
      for (const socket of pending) socket.destroy();
      pending.clear();
    },
  };
}

export type PendingUpgrades = ReturnType<typeof trackPendingUpgrades>;
