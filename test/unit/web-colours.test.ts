import { Awareness, applyAwarenessUpdate } from 'y-protocols/awareness';
import * as Y from 'yjs';
import { describe, expect, it } from 'vitest';
import { FALLBACK_COLOUR, keepColoursSafe, safeColour, safeLightColour } from '../../web/src/editor/colours.ts';
import { awarenessUpdate } from '../helpers/awareness-frames.ts';

const MALICIOUS = 'red;position:fixed;inset:0;background:url(http://127.0.0.1:1/x)';

describe('the editor page\'s colours (web/src/editor/colours.ts)', () => {
  it('keeps #rrggbb and falls back for anything else', () => {
    expect(safeColour('#1f5fbf')).toBe('#1f5fbf');
    for (const bad of [MALICIOUS, 'red', '#fff', '#1f5fbf33', '', undefined, 42, { toString: () => '#1f5fbf' }]) {
      expect(safeColour(bad)).toBe(FALLBACK_COLOUR);
    }
  });

  it('keeps a selection colour with an alpha byte, else derives one from the safe colour', () => {
    expect(safeLightColour('#1f5fbf33', '#1f5fbf')).toBe('#1f5fbf33');
    expect(safeLightColour(MALICIOUS, '#1f5fbf')).toBe('#1f5fbf33');
  });

  it('cleans remote states as they arrive, before later listeners see them, and leaves the local state alone', () => {
    const awareness = new Awareness(new Y.Doc());
    try {
      awareness.setLocalState({ user: { name: 'me', color: '#1a7f37' } });
      keepColoursSafe(awareness);
      const seen: unknown[] = [];
      awareness.on('change', () => seen.push(structuredClone(awareness.getStates().get(7))));
      applyAwarenessUpdate(
        awareness,
        awarenessUpdate([{ clientId: 7, clock: 1, state: { user: { name: 'Mallory', color: MALICIOUS, colorLight: MALICIOUS } } }]),
        'remote',
      );
      expect(seen).toEqual([{ user: { name: 'Mallory', color: FALLBACK_COLOUR, colorLight: `${FALLBACK_COLOUR}33` } }]);
      expect(awareness.getLocalState()).toEqual({ user: { name: 'me', color: '#1a7f37' } });
    } finally {
      awareness.destroy();
    }
  });
});
