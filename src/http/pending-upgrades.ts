import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';

/**
 * WebSocket upgrades that have arrived but not yet become sockets (their request is still in
 * Fastify's hooks). Once the server starts closing, Fastify answers such a request 503 on a
 * connection nobody ends (HTTP no longer owns an upgraded one), and the server's close then
 * waits for it forever. So at close they are destroyed, and new upgrades are refused by Node.
 */
export function trackPendingUpgrades(server: Server) {
  /** Each with the listener that forgets it once it closes. */
  const pending = new Map<Duplex, () => void>();
  const onUpgrade = (_request: IncomingMessage, socket: Duplex) => {
    const forget = () => pending.delete(socket);
    pending.set(socket, forget);
    socket.once('close', forget);
  };
  server.on('upgrade', onUpgrade);
  return {
    /** The upgrade of this request became a WebSocket: its close is the WebSocket's business now. */
    established(request: IncomingMessage): void {
      const forget = pending.get(request.socket);
      if (forget === undefined) return;
      pending.delete(request.socket);
      // Its listener too (~250 B): the socket may stay open for hours (bench S4).
      request.socket.off('close', forget);
    },
    /** At close: no more upgrades (Node destroys them once nobody listens), and none left half done. */
    abort(): void {
      server.removeAllListeners('upgrade');
      for (const socket of pending.keys()) socket.destroy();
      pending.clear();
    },
  };
}

export type PendingUpgrades = ReturnType<typeof trackPendingUpgrades>;
