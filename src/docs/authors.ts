/**
 * Who wrote something. Every stored update carries its author, and each Yjs client id seen in
 * a document is mapped to the author who first wrote with it (blame, revert).
 *
 * Ids say their kind, so that one string names one author across kinds: `user:<user id>`,
 * `key:<API key id>`, `link:<document id>` (its write link), `user:anonymous` (AUTH=off), and
 * `agent:<name>@<the credential's author id>` for a named agent, so that two people's agents
 * called "Claude" are two authors and no one can write as someone else's agent.
 */
export type AuthorKind = 'user' | 'agent' | 'link' | 'key';

export interface Author {
  kind: AuthorKind;
  id: string;
  /** Shown to people; looked up when read for people and keys (they rename), stored for agents. */
  name: string;
}

export const AUTHOR_KINDS: readonly AuthorKind[] = ['user', 'agent', 'link', 'key'];

/**
 * Whether a name may name an agent (Agent-Name, an MCP client's name): 1–64 characters, none
 * of them control, format (zero-width, bidi overrides, soft hyphens), surrogate, private or
 * line-breaking characters, and at least one visible one, so that a name shows as what it is
 * and cannot pass for another that looks the same.
 */
export function isAgentName(name: string): boolean {
  return /^[^\p{C}\p{Zl}\p{Zp}]{1,64}$/u.test(name) && /[\p{L}\p{N}\p{P}\p{S}]/u.test(name);
}

/** The same credential, writing as the agent `name`. */
export function asAgent(credential: Author, name: string): Author {
  return { kind: 'agent', id: `agent:${name}@${credential.id}`, name };
}

/** An author as read back from storage: kind and id, and a name only agents keep. */
export function storedAuthor(kind: string, id: string, name: string): Author | null {
  if (id === '' || !(AUTHOR_KINDS as readonly string[]).includes(kind)) return null;
  return { kind: kind as AuthorKind, id, name };
}

/** Who wrote one update, and what the op log keeps with it. */
export interface WriteBy {
  /** null: not known (an update adopted from a node that died before logging it). */
  author: Author | null;
  /** The REST write's Idempotency-Key: a retry finds the update and answers the same. */
  idempotencyKey?: string | undefined;
  /** Set on a revert's update: whose changes after which version it undid (docs/revert.ts). */
  reverts?: RevertMark | undefined;
}

export interface RevertMark {
  authorId: string;
  since: number;
}
