// @hocuspocus/server with no extensions (no persistence): Tandem's own copy, from the root
// node_modules, so both run the same version. Reports "LISTENING <port>".
import { Server } from '@hocuspocus/server';

const server = new Server({ address: '127.0.0.1', port: 0, quiet: true, stopOnSignals: false });
await server.listen();
console.log(`LISTENING ${server.address.port}`);
process.on('SIGTERM', () => process.exit(0));
