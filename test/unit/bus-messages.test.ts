import { describe, expect, it } from 'vitest';
import { documentChannel, documentIdOfChannel } from '../../src/bus/channels.ts';
import { decodeBusMessage, encodeBusMessage } from '../../src/bus/messages.ts';

describe('bus messages and channels', () => {
  it('round-trip updates and awareness', () => {
    const update = { kind: 'update' as const, origin: 'node-1', seq: 123456, payload: new Uint8Array([1, 2, 3]) };
    const awareness = { kind: 'awareness' as const, origin: 'node-2', payload: new Uint8Array([9]) };
    expect(decodeBusMessage(encodeBusMessage(update))).toEqual(update);
    expect(decodeBusMessage(encodeBusMessage(awareness))).toEqual(awareness);
  });

  it('refuse what is not a whole message of ours', () => {
    const encoded = encodeBusMessage({ kind: 'update', origin: 'n', seq: 1, payload: new Uint8Array(10) });
    expect(decodeBusMessage(encoded.subarray(0, encoded.length - 1))).toBeNull();
    expect(decodeBusMessage(new Uint8Array([...encoded, 0]))).toBeNull();
    expect(decodeBusMessage(new Uint8Array([7, 0]))).toBeNull();
    expect(decodeBusMessage(new TextEncoder().encode('hello'))).toBeNull();
  });

  it('put the document id in a Redis Cluster hash tag, and read it back', () => {
    expect(documentChannel('notes.v2')).toBe('tandem:doc:{notes.v2}');
    expect(documentIdOfChannel(documentChannel('a-b_c'))).toBe('a-b_c');
    expect(documentIdOfChannel('other:channel')).toBeNull();
  });
});
