// The floor: forwards every frame to the other sockets of the same room (the URL path) and
// keeps no document. y-websocket clients still converge through it (they answer each other's
// sync steps), so it does the least work any server could.
import http from 'node:http';
import { WebSocketServer } from 'ws';

const rooms = new Map();
const wss = new WebSocketServer({ noServer: true });
wss.on('connection', (ws, request) => {
  const room = request.url ?? '/';
  const members = rooms.get(room) ?? new Set();
  rooms.set(room, members);
  members.add(ws);
  ws.on('message', (data, isBinary) => {
    for (const other of members) if (other !== ws && other.readyState === 1) other.send(data, { binary: isBinary });
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
