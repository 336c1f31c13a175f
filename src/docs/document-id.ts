/** INTERFACE.md: a document id is 1-128 characters of [A-Za-z0-9._-]. */
const DOCUMENT_ID = /^[A-Za-z0-9._-]{1,128}$/;

export function isValidDocumentId(id: string): boolean {
  // "." and ".." pass the character rule but would be path segments anywhere they are used.
  return DOCUMENT_ID.test(id) && id !== '.' && id !== '..';
}
