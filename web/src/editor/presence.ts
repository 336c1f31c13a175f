import type { HocuspocusProvider } from '@hocuspocus/provider';
import type { Awareness } from 'y-protocols/awareness';
import { h } from '../dom.ts';
import { type Person, personFor } from '../identity.ts';
import { safeColour } from './colours.ts';

/** Others see this name and colour on our cursor and in their list of people. */
export function announceSelf(awareness: Awareness, name: string): void {
  awareness.setLocalStateField('user', personFor(awareness.clientID, name));
}

/**
 * After a reconnection, others drop our state, and y-protocols ignores a state whose clock
 * they have seen before: the same state sent again would leave us invisible until its next
 * renewal (up to 15 s). Setting it again gives it a new clock.
 */
export function reannounceOnReconnect(provider: HocuspocusProvider, awareness: Awareness): void {
  provider.on('synced', () => awareness.setLocalState(awareness.getLocalState()));
}

/** Lists everyone on the document: this person first, then people, then agents at work (the server adds them while they write). */
export function showPeople(awareness: Awareness, list: HTMLElement): void {
  const render = () => {
    const isAgent = (state: unknown) => (state as { user: { kind?: unknown } }).user.kind === 'agent';
    const people = [...awareness.getStates()]
      .filter(([, state]) => (state as { user?: Person }).user)
      .sort(([a, first], [b, second]) =>
        a === awareness.clientID ? -1 : b === awareness.clientID ? 1 : Number(isAgent(first)) - Number(isAgent(second)) || a - b,
      );
    list.replaceChildren(
      ...people.map(([clientId, state]) => {
        const user = (state as { user: Person }).user;
        const self = clientId === awareness.clientID;
        const swatch = h('span', { class: 'swatch', 'aria-hidden': 'true' });
        // Others' states are theirs to fill: only a plain colour becomes a style.
        swatch.style.background = safeColour(user.color);
        if (isAgent(state)) return h('li', { class: 'person agent', title: 'An agent, writing now' }, swatch, `${String(user.name)} (agent)`);
        return h('li', { class: 'person' }, swatch, self ? `${user.name} (you)` : String(user.name));
      }),
    );
  };
  awareness.on('change', render);
  render();
}
