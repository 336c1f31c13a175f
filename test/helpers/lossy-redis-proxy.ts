import { connect, createServer, type Socket } from 'node:net';

/**
 * A proxy in front of a real Redis that drops pub/sub deliveries on purpose, as Redis itself
 * may (a subscriber's output buffer overflowing, a failover): replies travel whole, RESP
 * framing intact, and `shouldDrop` decides for each pushed `message` frame. Everything
 * else (commands, replies, SUBSCRIBE confirmations) passes untouched.
 */
export async function startLossyRedisProxy(target: { host: string; port: number }) {
  let shouldDrop: () => boolean = () => false;
  let dropped = 0;
  let delivered = 0;
  const sockets = new Set<Socket>();

  const server = createServer((client) => {
    const upstream = connect(target.port, target.host);
    sockets.add(client).add(upstream);
    const close = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
    client.pipe(upstream);
    let pending: Buffer = Buffer.alloc(0);
    upstream.on('data', (chunk: Buffer) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      for (;;) {
        const end = frameEnd(pending, 0);
        if (end < 0) break;
        const frame = pending.subarray(0, end);
        pending = pending.subarray(end);
        if (isMessagePush(frame)) {
          if (shouldDrop()) {
            dropped += 1;
            continue;
          }
          delivered += 1;
        }
        client.write(frame);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };

  return {
    url: `redis://127.0.0.1:${port}`,
    /** From now on, each pushed message is dropped when `decide()` says so. */
    dropWhen(decide: () => boolean) {
      shouldDrop = decide;
    },
    get dropped() {
      return dropped;
    },
    get delivered() {
      return delivered;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** A pushed pub/sub message: an array (RESP2) or a push (RESP3, which ioredis speaks) starting "message". */
const MESSAGE_PUSHES = ['*3\r\n$7\r\nmessage\r\n', '>3\r\n$7\r\nmessage\r\n'].map((prefix) => Buffer.from(prefix));
const isMessagePush = (frame: Buffer) => MESSAGE_PUSHES.some((prefix) => frame.subarray(0, prefix.length).equals(prefix));

/** Where the RESP2/RESP3 value starting at `offset` ends, or -1 while it is incomplete. */
function frameEnd(buffer: Buffer, offset: number): number {
  const lineEnd = buffer.indexOf('\r\n', offset);
  if (lineEnd < 0) return -1;
  const type = String.fromCharCode(buffer[offset]!);
  const size = Number(buffer.toString('latin1', offset + 1, lineEnd));
  switch (type) {
    case '+':
    case '-':
    case ':':
    case '_':
    case '#':
    case ',':
    case '(':
      return lineEnd + 2;
    case '$':
    case '!':
    case '=': {
      if (size < 0) return lineEnd + 2;
      const end = lineEnd + 2 + size + 2;
      return end <= buffer.length ? end : -1;
    }
    case '*':
    case '~':
    case '>':
    case '%':
    case '|': {
      // Maps and attributes hold key-value pairs; an attribute's reply follows as its own value.
      const values = type === '%' || type === '|' ? size * 2 : size;
      let position = lineEnd + 2;
      for (let i = 0; i < values; i++) {
        position = frameEnd(buffer, position);
        if (position < 0) return -1;
      }
      return position;
    }
    default:
      throw new Error(`unexpected RESP type ${JSON.stringify(type)}`);
  }
}
