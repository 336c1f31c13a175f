// One node of Hocuspocus scaled out with its own Redis extension (@hocuspocus/extension-redis,
// bench/peers' copy with the @hocuspocus/server it depends on, the same version as Tandem's).
// No persistence, as for the single Hocuspocus peer. Reports "LISTENING <port>".
import { Redis } from '@hocuspocus/extension-redis';
import { Server } from '@hocuspocus/server';

const { hostname, port } = new URL(process.env.REDIS_URL);
const server = new Server({
  address: '127.0.0.1',
  port: 0,
  quiet: true,
  stopOnSignals: false,
  extensions: [new Redis({ host: hostname, port: Number(port) })],
});
await server.listen();
console.log(`LISTENING ${server.address.port}`);
process.on('SIGTERM', () => process.exit(0));
