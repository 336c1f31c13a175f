import { currentSession } from './session.ts';

/**
 * Cursor colours. Names are drawn in white on these, so each has a contrast of at least
 * 4.5:1 against white (WCAG AA for small text).
 */
const PALETTE = ['#1f5fbf', '#b3261e', '#6f42c1', '#1a7f37', '#8a5a00', '#b02a6f', '#0b6e7f', '#b3400c'];

const NAME_KEY = 'tandem.name';

export interface Person {
  name: string;
  color: string;
  /** The selection background y-codemirror draws for this person. */
  colorLight: string;
}

export function colourFor(clientId: number): string {
  return PALETTE[clientId % PALETTE.length] ?? '#1f5fbf';
}

/** What others see: a name the person chose here, else their account's, else a guest name. */
export function displayName(): string {
  const chosen = localStorage.getItem(NAME_KEY)?.trim();
  if (chosen) return chosen;
  const user = currentSession()?.user;
  if (user) return user.name || user.email.split('@')[0] || user.email;
  const guest = `Guest ${Math.floor(100 + Math.random() * 900)}`;
  localStorage.setItem(NAME_KEY, guest);
  return guest;
}

export function chooseName(name: string): void {
  if (name.trim()) localStorage.setItem(NAME_KEY, name.trim());
  else localStorage.removeItem(NAME_KEY);
}

export function personFor(clientId: number, name: string): Person {
  const color = colourFor(clientId);
  return { name, color, colorLight: `${color}33` };
}
