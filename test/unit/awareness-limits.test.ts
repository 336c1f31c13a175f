import { Awareness, applyAwarenessUpdate } from 'y-protocols/awareness';
import * as Y from 'yjs';
import { afterEach, describe, expect, it } from 'vitest';
import { claimApplied, filterInbound, limitDocumentAwareness, stripUnsafeColours } from '../../src/collab/awareness-limits.ts';
import { awarenessUpdate } from '../helpers/awareness-frames.ts';

const limits = { clientsPerConnection: 2, statesPerDocument: 3, bytesPerDocument: 10_000, bytesPerState: 200 };
const made: Awareness[] = [];
function room(): Awareness {
  const awareness = new Awareness(new Y.Doc());
  awareness.setLocalState(null);
  made.push(awareness);
  return awareness;
}
afterEach(() => {
  for (const awareness of made.splice(0)) awareness.destroy();
});

describe('stripUnsafeColours', () => {
  it.each([
    ['#1f5fbf', true],
    ['#ABCDEF', true],
    ['#abc', false],
    ['red', false],
    ['#1f5fbf;position:fixed', false],
    ['url(http://x/)', false],
  ])('user.color %s is kept: %s', (color, kept) => {
    const state = { user: { name: 'a', color } };
    stripUnsafeColours(state);
    expect('color' in state.user).toBe(kept);
    expect(state.user.name).toBe('a');
  });

  it('keeps a colorLight with an alpha byte, removes one that is not a colour, and leaves states without a user alone', () => {
    const good = { user: { colorLight: '#1f5fbf33' } };
    const bad = { user: { colorLight: '#1f5fbf33;inset:0' } };
    stripUnsafeColours(good);
    stripUnsafeColours(bad);
    expect(good.user).toEqual({ colorLight: '#1f5fbf33' });
    expect(bad.user).toEqual({});
    const other = { user: 'a string', cursor: null };
    stripUnsafeColours(other);
    expect(other).toEqual({ user: 'a string', cursor: null });
  });
});

describe('filterInbound', () => {
  it('lets a connection hold its cap of ids, renew them, and take a new one once an old one is gone', () => {
    const awareness = room();
    const claimed = new Set<number>();
    const states = new Map<number, Record<string, unknown>>([
      [1, { n: 1 }],
      [2, { n: 2 }],
      [3, { n: 3 }],
    ]);
    filterInbound(states, claimed, awareness, limits);
    expect([...states.keys()]).toEqual([1, 2]);
    applyAwarenessUpdate(awareness, awarenessUpdate([1, 2].map((clientId) => ({ clientId, clock: 1, state: { n: clientId } }))), 'test');
    claimApplied(claimed, { added: [1, 2], updated: [] });

    const renewal = new Map<number, Record<string, unknown>>([[2, { n: 2 }], [4, { n: 4 }]]);
    filterInbound(renewal, claimed, awareness, limits);
    expect([...renewal.keys()]).toEqual([2]);

    applyAwarenessUpdate(awareness, awarenessUpdate([{ clientId: 1, clock: 2, state: null }]), 'test');
    const later = new Map<number, Record<string, unknown>>([[4, { n: 4 }]]);
    filterInbound(later, claimed, awareness, limits);
    expect([...later.keys()]).toEqual([4]);
  });

  it('drops an oversized state', () => {
    const states = new Map<number, Record<string, unknown>>([[1, { blob: 'x'.repeat(500) }]]);
    filterInbound(states, new Set(), room(), limits);
    expect(states.size).toBe(0);
  });

  it('lets empty states through (a client without presence renews {}), after the non-empty ones', () => {
    // Hocuspocus's scratch awareness adds an empty state of its own first: it must not take a real id's place.
    const states = new Map<number, Record<string, unknown>>([
      [9, {}],
      [1, { n: 1 }],
      [2, { n: 2 }],
    ]);
    filterInbound(states, new Set(), room(), limits);
    expect([...states.keys()].sort()).toEqual([1, 2]);
    const alone = new Map<number, Record<string, unknown>>([[3, {}]]);
    filterInbound(alone, new Set(), room(), limits);
    expect([...alone.keys()]).toEqual([3]);
  });
});

describe('limitDocumentAwareness', () => {
  it('drops the states renewed longest ago once there are too many', () => {
    const awareness = room();
    limitDocumentAwareness(awareness, limits);
    for (const clientId of [1, 2, 3, 4]) {
      applyAwarenessUpdate(awareness, awarenessUpdate([{ clientId, clock: 1, state: { n: clientId } }]), 'test');
    }
    expect([...awareness.getStates().keys()].sort()).toEqual([2, 3, 4]);
  });

  it('drops the oldest states once their bytes exceed the document budget', () => {
    const awareness = room();
    limitDocumentAwareness(awareness, { ...limits, statesPerDocument: 100, bytesPerDocument: 250 });
    for (const clientId of [1, 2, 3]) {
      applyAwarenessUpdate(awareness, awarenessUpdate([{ clientId, clock: 1, state: { blob: 'x'.repeat(100) } }]), 'test');
    }
    expect([...awareness.getStates().keys()].sort()).toEqual([2, 3]);
  });
});
