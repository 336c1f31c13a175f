import * as encoding from 'lib0/encoding';
import { describe, expect, it } from 'vitest';
import * as awarenessProtocol from 'y-protocols/awareness';
import * as syncProtocol from 'y-protocols/sync';
import * as Y from 'yjs';
import { checkHocuspocusFrame, checkYWebsocketFrame } from '../../src/collab/frames.ts';
import { pseudoRandomBytes } from '../helpers/raw-socket.ts';

/** Frames exactly as the y-protocols encoders (used by y-websocket and Hocuspocus) write them. */
function encode(write: (encoder: encoding.Encoder) => void): Uint8Array {
  const encoder = encoding.createEncoder();
  write(encoder);
  return encoding.toUint8Array(encoder);
}

function sampleDoc(): Y.Doc {
  const doc = new Y.Doc();
  const text = doc.getText('content');
  text.insert(0, '# Title\n\nsome text, ünïcode and emoji 🎉');
  text.delete(2, 3);
  text.format(0, 3, { bold: true });
  doc.getMap('meta').set('title', 'x');
  return doc;
}

function realBodies(): Record<string, Uint8Array> {
  const doc = sampleDoc();
  const other = new Y.Doc();
  other.getText('content').insert(0, 'other');
  const updates: Uint8Array[] = [];
  doc.on('update', (update: Uint8Array) => updates.push(update));
  doc.transact(() => {
    doc.getText('content').insert(0, 'new ');
    doc.getText('content').delete(8, 4);
  });
  const awareness = new awarenessProtocol.Awareness(doc);
  awareness.setLocalState({ user: { name: 'Ada', color: '#f00' }, cursor: null });
  const empty = new awarenessProtocol.Awareness(new Y.Doc());

  return {
    'sync step 1': encode((e) => {
      encoding.writeVarUint(e, 0);
      syncProtocol.writeSyncStep1(e, doc);
    }),
    'sync step 1 of an empty doc': encode((e) => {
      encoding.writeVarUint(e, 0);
      syncProtocol.writeSyncStep1(e, new Y.Doc());
    }),
    'sync step 2': encode((e) => {
      encoding.writeVarUint(e, 0);
      syncProtocol.writeSyncStep2(e, doc, Y.encodeStateVector(other));
    }),
    'sync update (inserts and deletes)': encode((e) => {
      encoding.writeVarUint(e, 0);
      syncProtocol.writeUpdate(e, updates[0]!);
    }),
    'awareness update': encode((e) => {
      encoding.writeVarUint(e, 1);
      encoding.writeVarUint8Array(e, awarenessProtocol.encodeAwarenessUpdate(awareness, [doc.clientID]));
    }),
    'awareness removal (null state)': encode((e) => {
      encoding.writeVarUint(e, 1);
      awarenessProtocol.removeAwarenessStates(awareness, [doc.clientID], 'test');
      encoding.writeVarUint8Array(e, awarenessProtocol.encodeAwarenessUpdate(awareness, [doc.clientID]));
    }),
    'awareness update with no clients': encode((e) => {
      encoding.writeVarUint(e, 1);
      encoding.writeVarUint8Array(e, awarenessProtocol.encodeAwarenessUpdate(empty, []));
    }),
    'query awareness': encode((e) => encoding.writeVarUint(e, 3)),
  };
}

const addressed = (name: string, body: Uint8Array) =>
  encode((e) => {
    encoding.writeVarString(e, name);
    encoding.writeUint8Array(e, body);
  });

const hocuspocusOnly: Record<string, (name: string) => Uint8Array> = {
  auth: (name) =>
    encode((e) => {
      encoding.writeVarString(e, name);
      encoding.writeVarUint(e, 2);
      encoding.writeVarUint(e, 0);
      encoding.writeVarString(e, 'a-token');
    }),
  'auth with provider version': (name) =>
    encode((e) => {
      encoding.writeVarString(e, name);
      encoding.writeVarUint(e, 2);
      encoding.writeVarUint(e, 0);
      encoding.writeVarString(e, 'a-token');
      encoding.writeVarString(e, '4.8.0');
    }),
  'sync reply': (name) =>
    encode((e) => {
      encoding.writeVarString(e, name);
      encoding.writeVarUint(e, 4);
      syncProtocol.writeSyncStep1(e, sampleDoc());
    }),
  stateless: (name) =>
    encode((e) => {
      encoding.writeVarString(e, name);
      encoding.writeVarUint(e, 5);
      encoding.writeVarString(e, '{"any":"payload"}');
    }),
  close: (name) =>
    encode((e) => {
      encoding.writeVarString(e, name);
      encoding.writeVarUint(e, 7);
    }),
  pong: (name) =>
    encode((e) => {
      encoding.writeVarString(e, name);
      encoding.writeVarUint(e, 10);
    }),
};

/** Every strict prefix, or (for long frames) the first 40 and a spread of the rest. */
function prefixes(frame: Uint8Array): Uint8Array[] {
  const cuts = new Set<number>();
  for (let length = 0; length < frame.length; length++) {
    if (length < 40 || length > frame.length - 40 || length % 7 === 0) cuts.add(length);
  }
  return [...cuts].map((length) => frame.slice(0, length));
}

describe('checkYWebsocketFrame', () => {
  it.each(Object.entries(realBodies()))('accepts a real %s', (_label, frame) => {
    expect(checkYWebsocketFrame(frame)).toBeNull();
  });

  it.each(Object.entries(realBodies()))('refuses every truncation of a real %s', (_label, frame) => {
    for (const prefix of prefixes(frame)) {
      expect(checkYWebsocketFrame(prefix), `cut to ${prefix.length} of ${frame.length} bytes`).toBe('MALFORMED_MESSAGE');
    }
  });

  it.each(Object.entries(realBodies()))('refuses a real %s with a trailing byte', (_label, frame) => {
    const longer = new Uint8Array(frame.length + 1);
    longer.set(frame);
    expect(checkYWebsocketFrame(longer)).toBe('MALFORMED_MESSAGE');
  });

  it('refuses an update truncated inside its own (consistent) length prefix: the half-apply case', () => {
    const doc = sampleDoc();
    const updates: Uint8Array[] = [];
    doc.on('update', (update: Uint8Array) => updates.push(update));
    doc.transact(() => {
      doc.getText('content').insert(0, 'XYZ');
      doc.getText('content').delete(10, 5);
    });
    const update = updates[0]!;
    for (let cut = 1; cut <= Math.min(12, update.length - 1); cut++) {
      const frame = encode((e) => {
        encoding.writeVarUint(e, 0);
        syncProtocol.writeUpdate(e, update.slice(0, update.length - cut));
      });
      expect(checkYWebsocketFrame(frame), `update cut by ${cut} bytes`).toBe('MALFORMED_MESSAGE');
    }
  });

  it('refuses a truncated frame that is a view into a larger buffer (no reading past the view)', () => {
    const frame = realBodies()['sync update (inserts and deletes)']!;
    const backing = new Uint8Array(frame.length + 4096);
    backing.set(frame);
    backing.set(frame, frame.length); // plausible bytes right after the view
    for (const cut of [1, 2, 5]) {
      expect(checkYWebsocketFrame(backing.subarray(0, frame.length - cut))).toBe('MALFORMED_MESSAGE');
    }
    expect(checkYWebsocketFrame(backing.subarray(0, frame.length))).toBeNull();
  });

  it.each([
    ['an empty frame', []],
    ['an unknown message type', [0x7f]],
    ['the Hocuspocus auth type', [2, 0, 0]],
    ['the Hocuspocus sync reply type', [4, 0, 0]],
    ['a sync message with an unknown sub-type', [0, 3, 0]],
    ['a sync message without a payload', [0, 2]],
    ['a varint that never ends', [0xff, 0xff, 0xff, 0xff, 0xff]],
    ['a declared length far beyond the frame', [0, 2, 0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2]],
    ['a state vector claiming a billion clients', [0, 0, 5, 0x80, 0x94, 0xeb, 0xdc, 0x03]],
    ['awareness that is not JSON', [1, 6, 1, 1, 1, 2, 0x7b, 0x7b]],
    ['query awareness with a body', [3, 0]],
  ])('refuses %s', (_label, frame) => {
    expect(checkYWebsocketFrame(new Uint8Array(frame))).toBe('MALFORMED_MESSAGE');
  });

  it('never throws on pseudo-random input and refuses all of these', () => {
    for (let seed = 1; seed <= 500; seed++) {
      const frame = pseudoRandomBytes(1 + (seed % 97), seed);
      // A random frame starting with 3 and one byte long would be a real query; none here is.
      expect(checkYWebsocketFrame(frame), `seed ${seed}`).toBe('MALFORMED_MESSAGE');
    }
  });
});

describe('checkHocuspocusFrame', () => {
  const name = 'notes-2024.md';

  it.each(Object.entries(realBodies()))('accepts a real %s addressed to a document', (_label, body) => {
    expect(checkHocuspocusFrame(addressed(name, body))).toBeNull();
    expect(checkHocuspocusFrame(addressed(`${name}\0session-1`, body))).toBeNull();
  });

  it.each(Object.entries(hocuspocusOnly))('accepts a %s message', (_label, build) => {
    expect(checkHocuspocusFrame(build(name))).toBeNull();
  });

  it.each(Object.entries(realBodies()))('refuses every truncation of an addressed %s', (_label, body) => {
    const frame = addressed(name, body);
    for (const prefix of prefixes(frame)) {
      expect(checkHocuspocusFrame(prefix), `cut to ${prefix.length} of ${frame.length} bytes`).not.toBeNull();
    }
  });

  it.each(Object.entries(hocuspocusOnly))('refuses a %s message with a trailing byte', (_label, build) => {
    const frame = build(name);
    // 5: not even a complete string, so no optional field (auth version, close reason) fits.
    const longer = new Uint8Array(frame.length + 1);
    longer.set(frame);
    longer[frame.length] = 5;
    expect(checkHocuspocusFrame(longer)).toBe('MALFORMED_MESSAGE');
  });

  it.each([
    ['..', '..'],
    ['a slash', 'a/b'],
    ['a space', 'a b'],
    ['an empty name', ''],
    ['an empty name before a session', '\0session'],
    ['129 characters', 'x'.repeat(129)],
    ['NUL inside the name', 'a\u0001b'],
  ])('refuses a frame addressed to %s as INVALID_DOCUMENT_ID', (_label, badName) => {
    expect(checkHocuspocusFrame(addressed(badName, realBodies()['sync step 1']!))).toBe('INVALID_DOCUMENT_ID');
  });

  it.each([
    ['an unknown type', [0x7f]],
    ['broadcast stateless (server-internal)', [6, 1, 0x61]],
    ['sync status (server to client only)', [8, 1]],
    ['ping (server to client only)', [9]],
    ['an auth sub-type other than token', [2, 1, 1, 0x61]],
    ['no type at all', []],
  ])('refuses %s', (_label, body) => {
    expect(checkHocuspocusFrame(addressed(name, new Uint8Array(body)))).toBe('MALFORMED_MESSAGE');
  });

  it('never throws on pseudo-random input', () => {
    for (let seed = 1; seed <= 500; seed++) {
      const result = checkHocuspocusFrame(pseudoRandomBytes(1 + (seed % 97), seed));
      expect(['MALFORMED_MESSAGE', 'INVALID_DOCUMENT_ID'], `seed ${seed}`).toContain(result);
    }
  });
});
