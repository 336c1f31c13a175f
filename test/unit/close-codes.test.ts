import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { describe, expect, it } from 'vitest';
import { contractErrorCode, withContractReasons } from '../../src/collab/close-codes.ts';
import { MessageType } from '../../src/collab/frames.ts';
import { addressed, body } from '../helpers/raw-socket.ts';

function frame(address: string, ...parts: (number | string)[]): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarString(encoder, address);
  for (const part of parts) {
    if (typeof part === 'number') encoding.writeVarUint(encoder, part);
    else encoding.writeVarString(encoder, part);
  }
  return encoding.toUint8Array(encoder);
}

const PERMISSION_DENIED = 1;

describe('contractErrorCode: Hocuspocus refusals that are failures', () => {
  it('maps PermissionDenied "permission-denied" (a hook threw something unexpected) to INTERNAL, though the bridge says 4403', () => {
    // y-websocket would never come back after 4403: a database outage must not look like a refusal.
    expect(contractErrorCode(4403, 'permission-denied')).toBe('INTERNAL');
    expect(contractErrorCode(4403, 'FORBIDDEN')).toBe('FORBIDDEN');
    expect(contractErrorCode(4403, 'something else')).toBe('FORBIDDEN');
  });
});

describe('withContractReasons: frames to /collab clients', () => {
  it("puts our code into Hocuspocus's Close messages", () => {
    const rewritten = withContractReasons(frame('doc-1', MessageType.Close, 'Connection Timeout'));
    expect(rewritten).toEqual(frame('doc-1', MessageType.Close, 'TIMED_OUT'));
    expect(withContractReasons(frame('doc-1', MessageType.Close, 'Reset Connection'))).toEqual(frame('doc-1', MessageType.Close, 'INTERNAL'));
  });

  it('and into PermissionDenied answers', () => {
    expect(withContractReasons(frame('doc-1', MessageType.Auth, PERMISSION_DENIED, 'permission-denied'))).toEqual(
      frame('doc-1', MessageType.Auth, PERMISSION_DENIED, 'INTERNAL'),
    );
  });

  it('keeps our own reasons, the client-initiated close, and every other frame as they are (the same bytes)', () => {
    for (const kept of [
      frame('doc-1', MessageType.Close, 'DOC_NOT_FOUND'),
      frame('doc-1', MessageType.Close, 'provider_initiated'),
      frame('doc-1', MessageType.Auth, PERMISSION_DENIED, 'UNAUTHORIZED'),
      frame('doc-1', MessageType.Auth, 2, 'read-write'),
      addressed('doc-1', body.update(Uint8Array.of(0, 0))),
      addressed('doc-1\0session', body.queryAwareness()),
      addressed('x'.repeat(200), body.queryAwareness()),
      Uint8Array.of(0xff),
    ]) {
      expect(withContractReasons(kept)).toBe(kept);
    }
  });

  it('keeps a long address whole when it rewrites', () => {
    const address = `${'d'.repeat(128)}\0session-7`;
    const decoder = decoding.createDecoder(withContractReasons(frame(address, MessageType.Close, 'Connection Timeout')));
    expect(decoding.readVarString(decoder)).toBe(address);
    expect(decoding.readVarUint(decoder)).toBe(MessageType.Close);
    expect(decoding.readVarString(decoder)).toBe('TIMED_OUT');
  });
});
