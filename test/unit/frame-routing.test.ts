import * as decoding from 'lib0/decoding';
import { describe, expect, it } from 'vitest';
import * as awarenessProtocol from 'y-protocols/awareness';
import * as Y from 'yjs';
import { documentOfAddress, hocuspocusAddressOf, noOpAwarenessFrame } from '../../src/collab/frame-routing.ts';
import { MessageType } from '../../src/collab/frames.ts';
import { addressed, body } from '../helpers/raw-socket.ts';

describe('frame routing', () => {
  it('reads the address of a Hocuspocus frame, and the document it names', () => {
    expect(hocuspocusAddressOf(addressed('doc-1', body.queryAwareness()))).toBe('doc-1');
    expect(hocuspocusAddressOf(addressed('doc-1\0session', body.queryAwareness()))).toBe('doc-1\0session');
    expect(documentOfAddress('doc-1\0session')).toBe('doc-1');
    expect(documentOfAddress('doc-1')).toBe('doc-1');
    // Unreadable: refused later by the frame checks, no budget of its own.
    expect(hocuspocusAddressOf(Uint8Array.of(0xff))).toBeNull();
    expect(hocuspocusAddressOf(Uint8Array.of(10, 1))).toBeNull();
  });

  it('makes a keepalive that both stock clients apply as a no-op awareness update', () => {
    // What y-websocket and the Hocuspocus provider do with an awareness message: decode the
    // type (after the address, for Hocuspocus) and applyAwarenessUpdate the payload.
    for (const [frame, address] of [
      [noOpAwarenessFrame(null), null],
      [noOpAwarenessFrame('doc-1\0session'), 'doc-1\0session'],
    ] as const) {
      const awareness = new awarenessProtocol.Awareness(new Y.Doc());
      awareness.setLocalState({ user: 'me' });
      const other = new awarenessProtocol.Awareness(new Y.Doc());
      other.setLocalState({ user: 'other' });
      awarenessProtocol.applyAwarenessUpdate(awareness, awarenessProtocol.encodeAwarenessUpdate(other, [other.clientID]), 'x');
      const events: string[] = [];
      awareness.on('change', () => events.push('change'));
      awareness.on('update', () => events.push('update'));
      const before = new Map(awareness.getStates());

      const decoder = decoding.createDecoder(frame);
      if (address !== null) expect(decoding.readVarString(decoder)).toBe(address);
      expect(decoding.readVarUint(decoder)).toBe(MessageType.Awareness);
      awarenessProtocol.applyAwarenessUpdate(awareness, decoding.readVarUint8Array(decoder), 'server');
      expect(decoding.hasContent(decoder)).toBe(false);
      expect(events).toEqual([]);
      expect(awareness.getStates()).toEqual(before);
    }
  });
});
