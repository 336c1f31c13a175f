// The floor: a server that keeps no document and forwards each update and awareness frame to
// the other sockets of the same room (the URL path). It answers a client's sync step 1 with
// an empty step 2 itself and forwards no sync steps: otherwise every join would make all of
// a room's clients send their whole documents to each other (n² traffic), which measures the
// flood, not the floor. Rooms start empty in every scenario, so nothing is lost by that.
import http from 'node:http';
import { WebSocketServer } from 'ws';

const SYNC = 0;
const AWARENESS = 1;
const STEP1 = 0;
const UPDATE = 2;
// [sync, step 2, an empty Yjs update (no structs, no deletes)]
const EMPTY_STEP2 = new Uint8Array([SYNC, 1, 2, 0, 0]);

const rooms = new Map();
const wss = new WebSocketServer({ noServer: true });
wss.on('connection', (ws, request) => {
  const room = request.url ?? '/';
  const members = rooms.get(room) ?? new Set();
  rooms.set(room, members);
  members.add(ws);
  ws.on('message', (data) => {
    const type = data[0];
    if (type === SYNC && data[1] === STEP1) return ws.send(EMPTY_STEP2);
    if (!((type === SYNC && data[1] === UPDATE) || type === AWARENESS)) return;
    for (const other of members) if (other !== ws && other.readyState === 1) other.send(data, { binary: true });
  });
  ws.on('close', () => {
    members.delete(ws);
    if (members.size === 0) rooms.delete(room);
  });
});
const server = http.createServer((_request, response) => response.end('okay'));
server.on('upgrade', (request, socket, head) => {
  wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws, request));
});
server.listen(0, '127.0.0.1', () => console.log(`LISTENING ${server.address().port}`));
process.on('SIGTERM', () => process.exit(0));
