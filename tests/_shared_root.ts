/**
 * Where the shared, read-only test data lives: `../shared` next to the repository. Tests that
 * read it skip, with a printed reason, when it is absent (a fresh clone elsewhere).
 */

/** Absolute path of the shared data folder (without a trailing slash). */
export const SHARED: string = decodeURIComponent(
  new URL("../../shared", import.meta.url).pathname,
);
