import { describe, expect, it } from 'vitest';
import { isValidDocumentId } from '../../src/docs/document-id.ts';

describe('isValidDocumentId (INTERFACE.md: 1-128 characters of [A-Za-z0-9._-])', () => {
  it.each([
    ['one character', 'a'],
    ['every allowed character class', 'Az09._-'],
    ['128 characters', 'x'.repeat(128)],
    ['dots inside', 'notes.v2.md'],
    ['three dots', '...'],
    ['leading dot', '.hidden'],
    ['leading dash', '-x'],
  ])('accepts %s', (_label, id) => {
    expect(isValidDocumentId(id)).toBe(true);
  });

  it.each([
    ['the empty string', ''],
    ['.', '.'],
    ['..', '..'],
    ['129 characters', 'x'.repeat(129)],
    ['a slash', 'a/b'],
    ['a traversal', '../etc/passwd'],
    ['a backslash', 'a\\b'],
    ['an encoded slash (left encoded)', 'a%2Fb'],
    ['NUL', 'a\0b'],
    ['a trailing newline', 'abc\n'],
    ['a leading newline', '\nabc'],
    ['a space', 'a b'],
    ['a colon (Redis key separator)', 'a:b'],
    ['non-ASCII letters', 'café'],
    ['a lookalike Unicode letter', 'аbc' /* Cyrillic а */],
    ['an emoji', '🎉'],
  ])('refuses %s', (_label, id) => {
    expect(isValidDocumentId(id)).toBe(false);
  });
});
