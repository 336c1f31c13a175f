import * as encoding from 'lib0/encoding';
import { describe, expect, it } from 'vitest';
import { appliedAckAddress, createDurableTails, withDurableAcks } from '../../src/collab/durable-acks.ts';
import type { ClientSocket } from '../../src/collab/ports.ts';

/** A Hocuspocus frame: [address, type, ...varUints]. */
function frame(address: string, type: number, ...rest: number[]): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarString(encoder, address);
  encoding.writeVarUint(encoder, type);
  for (const value of rest) encoding.writeVarUint(encoder, value);
  return encoding.toUint8Array(encoder);
}
const SYNC = 0;
const SYNC_STATUS = 8;
const ack = (address: string) => frame(address, SYNC_STATUS, 1);

function deferred() {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

function recordingSocket() {
  const sent: Uint8Array[] = [];
  const socket: ClientSocket = { readyState: 1, send: (data) => void sent.push(data), close: () => undefined };
  return { socket, sent };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('appliedAckAddress', () => {
  it('names the document of a SyncStatus(applied), without a session suffix', () => {
    expect(appliedAckAddress(ack('notes'))).toBe('notes');
    expect(appliedAckAddress(ack('notes\0session-1'))).toBe('notes');
    expect(appliedAckAddress(ack('ünïcødé-ｄｏｃ'))).toBe('ünïcødé-ｄｏｃ');
  });

  it('lets every other frame through: refusals (applied 0), sync and awareness frames, empty bodies', () => {
    expect(appliedAckAddress(frame('notes', SYNC_STATUS, 0))).toBeNull();
    expect(appliedAckAddress(frame('notes', SYNC, 2, 1))).toBeNull();
    expect(appliedAckAddress(frame('notes', 1))).toBeNull();
    expect(appliedAckAddress(frame('notes'.repeat(30), SYNC, 8, 1))).toBeNull(); // long address (two-byte length)
    expect(appliedAckAddress(new Uint8Array([5, 110, 111, 116, 101, 115]))).toBeNull(); // no type at all
  });
});

describe('withDurableAcks', () => {
  it('holds an acknowledgement until the document is durable, and passes other frames at once', async () => {
    const { socket, sent } = recordingSocket();
    const durable = deferred();
    const acked = withDurableAcks(socket, () => durable.promise, () => undefined);
    const update = frame('a', SYNC, 2, 0);
    acked.send(ack('a'));
    acked.send(update);
    await settle();
    expect(sent).toEqual([update]);
    durable.resolve();
    await settle();
    expect(sent).toEqual([update, ack('a')]);
  });

  it('asks for durability when the acknowledgement is sent, and keeps one document\'s acknowledgements in order', async () => {
    const { socket, sent } = recordingSocket();
    const waits = [deferred(), deferred()];
    let asked = 0;
    const acked = withDurableAcks(socket, () => waits[asked++]!.promise, () => undefined);
    acked.send(ack('a'));
    acked.send(frame('a\0s', SYNC_STATUS, 1));
    expect(asked).toBe(2);
    waits[1]!.resolve(); // the later one is durable first: it still waits for the earlier
    await settle();
    expect(sent).toEqual([]);
    waits[0]!.resolve();
    await settle();
    expect(sent).toEqual([ack('a'), frame('a\0s', SYNC_STATUS, 1)]);
  });

  it('does not hold one document\'s acknowledgements behind another\'s', async () => {
    const { socket, sent } = recordingSocket();
    const slow = deferred();
    const acked = withDurableAcks(socket, (name) => (name === 'slow' ? slow.promise : Promise.resolve()), () => undefined);
    acked.send(ack('slow'));
    acked.send(ack('fast'));
    await settle();
    expect(sent).toEqual([ack('fast')]);
  });

  it('never sends an acknowledgement whose update did not become durable, and goes on with later ones', async () => {
    const { socket, sent } = recordingSocket();
    const waits = [deferred(), deferred()];
    let asked = 0;
    const lost: string[] = [];
    const acked = withDurableAcks(socket, () => waits[asked++]!.promise, (name) => void lost.push(name));
    acked.send(ack('a'));
    acked.send(ack('a'));
    waits[0]!.reject(new Error('document deleted'));
    waits[1]!.resolve();
    await settle();
    expect(lost).toEqual(['a']);
    expect(sent).toEqual([ack('a')]);
  });
});

describe('createDurableTails', () => {
  it('settles once every append so far is committed, not only the newest', async () => {
    const tails = createDurableTails();
    const first = deferred();
    const second = deferred();
    tails.track('a', first.promise);
    tails.track('a', second.promise);
    let durable = false;
    void tails.current('a').then(() => (durable = true));
    second.resolve();
    await settle();
    expect(durable).toBe(false);
    first.resolve();
    await settle();
    expect(durable).toBe(true);
  });

  it('rejects when an earlier append failed, and forgets the failure once it settled', async () => {
    const tails = createDurableTails();
    const failed = deferred();
    tails.track('a', failed.promise);
    tails.track('a', Promise.resolve(3));
    failed.reject(new Error('document deleted'));
    await expect(tails.current('a')).rejects.toThrow('document deleted');
    await settle();
    tails.track('a', Promise.resolve(4));
    await expect(tails.current('a')).resolves.toBeUndefined();
  });

  it('is durable at once for a document with nothing appended, and per document', async () => {
    const tails = createDurableTails();
    tails.track('busy', new Promise(() => undefined));
    await expect(tails.current('idle')).resolves.toBeUndefined();
  });
});
