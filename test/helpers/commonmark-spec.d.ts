/** The CommonMark spec's examples (the commonmark-spec package has no typings of its own). */
declare module 'commonmark-spec' {
  export const tests: { markdown: string; html: string; section: string; number: number }[];
}
