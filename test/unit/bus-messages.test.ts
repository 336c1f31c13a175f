import { describe, expect, it } from 'vitest';
import { documentChannel, documentIdOfChannel } from '../../src/bus/channels.ts';
import { decodeBusMessage, encodeBusMessage } from '../../src/bus/messages.ts';

describe('bus messages and channels', () => {
  it('round-trip updates, commits and awareness', () => {
    const update = { kind: 'update' as const, origin: 'node-1', local: 123456, payload: new Uint8Array([1, 2, 3]) };
    const committed = { kind: 'committed' as const, origin: 'node-1', commits: [{ local: 123456, seq: 7 }, { local: 123457, seq: 2 ** 31 }] };
    const awareness = { kind: 'awareness' as const, origin: 'node-2', payload: new Uint8Array([9]) };
    for (const message of [update, committed, awareness]) expect(decodeBusMessage(encodeBusMessage(message))).toEqual(message);
  });

  it('refuse what is not a whole message of ours', () => {
    const encoded = encodeBusMessage({ kind: 'update', origin: 'n', local: 1, payload: new Uint8Array(10) });
    expect(decodeBusMessage(encoded.subarray(0, encoded.length - 1))).toBeNull();
    expect(decodeBusMessage(new Uint8Array([...encoded, 0]))).toBeNull();
    expect(decodeBusMessage(new Uint8Array([7, 0]))).toBeNull();
    // A commit list that claims more entries than it has bytes for.
    expect(decodeBusMessage(new Uint8Array([3, 1, 110, 0xff, 0xff, 0x03, 1, 1]))).toBeNull();
    // Kind 0, an update after its commit from before updates went out at once: not read as one of these.
    expect(decodeBusMessage(new Uint8Array([0, 1, 110, 5, 1, 9]))).toBeNull();
    expect(decodeBusMessage(new TextEncoder().encode('hello'))).toBeNull();
  });

  it('put the document id in a Redis Cluster hash tag, and read it back', () => {
    expect(documentChannel('notes.v2')).toBe('tandem:doc:{notes.v2}');
    expect(documentIdOfChannel(documentChannel('a-b_c'))).toBe('a-b_c');
    expect(documentIdOfChannel('other:channel')).toBeNull();
  });
});
