import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { missingDependencies } from '../../src/docs/yjs-state.ts';

/** A document with "hello" by client 1, and a copy of it to build updates on. */
function setUp() {
  const doc = new Y.Doc();
  doc.clientID = 1;
  doc.getText('content').insert(0, 'hello');
  const copy = new Y.Doc();
  Y.applyUpdate(copy, Y.encodeStateAsUpdate(doc));
  return { doc, copy };
}

/** What `copy` wrote after `before`, as one update. */
const since = (copy: Y.Doc, before: Uint8Array) => Y.encodeStateAsUpdate(copy, before);

describe('missing dependencies of an update', () => {
  it('none for an update that builds on what the document has, or on itself', () => {
    const { doc, copy } = setUp();
    const before = Y.encodeStateVector(copy);
    copy.clientID = 2;
    copy.getText('content').insert(5, ' world');
    copy.getText('content').insert(11, '!');
    copy.getText('content').delete(0, 2);
    expect(missingDependencies(doc, since(copy, before))).toEqual([]);
  });

  it("names a client whose next item the update is placed next to (Yjs would hold it, to finish in that client's transaction)", () => {
    const { doc, copy } = setUp();
    copy.clientID = 1;
    copy.getText('content').insert(5, '?'); // client 1's next keystroke, guessed
    const guessed = Y.encodeStateVector(copy);
    copy.clientID = 3;
    copy.getText('content').insert(6, ' planted');
    expect(missingDependencies(doc, since(copy, guessed))).toEqual([1]);
  });

  it('names a client whose items the update deletes before they exist', () => {
    const { doc, copy } = setUp();
    copy.clientID = 1;
    copy.getText('content').insert(5, 'future');
    const guessed = Y.encodeStateVector(copy);
    copy.getText('content').delete(5, 6);
    const deletion = since(copy, guessed);
    expect(missingDependencies(doc, deletion)).toEqual([1]);
  });

  it('names a client whose earlier structs the update skips', () => {
    const { doc, copy } = setUp();
    copy.clientID = 4;
    copy.getText('content').insert(0, 'a');
    const afterFirst = Y.encodeStateVector(copy);
    copy.getText('content').insert(1, 'b');
    expect(missingDependencies(doc, since(copy, afterFirst))).toEqual([4]);
  });
});
