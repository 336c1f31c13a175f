import type { Awareness } from 'y-protocols/awareness';

/**
 * Other people's colours come from their awareness state, which anyone on the document (a
 * read link is enough) fills as they like; y-codemirror writes `user.color` and
 * `user.colorLight` into style attributes as they are, so a "colour" such as
 * `red;position:fixed;inset:0;background:url(…)` would cover the page and fetch a URL. The
 * server removes such colours before it broadcasts a state; the page does not rely on it.
 */

/** Drawn for a person whose colour is missing or not a plain colour. */
export const FALLBACK_COLOUR = '#5c6370';

const COLOUR = /^#[0-9a-f]{6}$/i;
/** A colour with an optional alpha byte, as the selection background is. */
const LIGHT_COLOUR = /^#[0-9a-f]{6}([0-9a-f]{2})?$/i;

/** `value` if it is a `#rrggbb` colour, else the fallback. */
export function safeColour(value: unknown): string {
  return typeof value === 'string' && COLOUR.test(value) ? value : FALLBACK_COLOUR;
}

/** `value` if it is `#rrggbb` or `#rrggbbaa`, else a light version of `colour` (already safe). */
export function safeLightColour(value: unknown, colour: string): string {
  return typeof value === 'string' && LIGHT_COLOUR.test(value) ? value : `${colour}33`;
}

/** Makes one state's colours safe, in place. */
function cleanState(state: Record<string, unknown> | undefined): void {
  const user = state?.['user'];
  if (typeof user !== 'object' || user === null || Array.isArray(user)) return;
  const fields = user as Record<string, unknown>;
  const colour = safeColour(fields['color']);
  if (fields['color'] !== colour) fields['color'] = colour;
  const light = safeLightColour(fields['colorLight'], colour);
  if (fields['colorLight'] !== light) fields['colorLight'] = light;
}

/**
 * Keeps every remote state's colours safe, in place, as states arrive. Call it before the
 * editor is created: awareness tells its listeners in the order they were added, so this one
 * runs before y-codemirror's draws anything.
 */
export function keepColoursSafe(awareness: Awareness): void {
  const clean = (ids: number[]) => {
    for (const id of ids) if (id !== awareness.clientID) cleanState(awareness.getStates().get(id));
  };
  awareness.on('change', ({ added, updated }: { added: number[]; updated: number[] }) => clean([...added, ...updated]));
  clean([...awareness.getStates().keys()]);
}
