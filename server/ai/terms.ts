// How text becomes search terms, for the files and for the questions alike. Code names
// things in camelCase, PascalCase and snake_case, while people ask in words: an identifier is
// indexed whole and as its parts, so "retry" finds retryWithBackoff and "retryWithBackoff"
// finds it best of all (the whole identifier is the rarer term).

/** Runs of letters and digits; `_` and `$` join the parts of one identifier. */
const IDENTIFIER = /[\p{L}\p{N}_$]+/gu;

// Words that say nothing about which code a question is about. Only function words: "file",
// "use" or "project" name things in code too, and BM25 already weighs common terms down.
const STOP_WORDS = new Set(
  (
    'a an and are as at be but by can could did do does doing done for from had has have how i if in into is it its ' +
    'me my no not of on or our please should so some such than that the their them then there these they this those ' +
    'to too us was we were what when where which while who whom why will with would you your about any all also'
  ).split(' '),
);

const MIN_TERM_LENGTH = 2;
const MAX_TERM_LENGTH = 64;

export function tokenize(text: string): string[] {
  return text.match(IDENTIFIER) ?? [];
}

/** The parts of an identifier: fooBarBaz, FooBar, HTTPServer, snake_case, kebab parts, v2Api. */
export function identifierParts(identifier: string): string[] {
  return identifier
    .split(/[_$]+/)
    .flatMap((piece) => piece.split(/(?<=\p{Ll})(?=\p{Lu})|(?<=\p{Lu})(?=\p{Lu}\p{Ll})|(?<=\p{L})(?=\p{N})|(?<=\p{N})(?=\p{L})/u))
    .filter((part) => part.length > 0);
}

/** A token as its index terms: the whole (lowercased) and, for a compound, each part. */
export function processTerm(token: string): string[] | null {
  const whole = token.toLowerCase();
  const parts = identifierParts(token).map((part) => part.toLowerCase());
  const terms = new Set<string>();
  if (parts.length > 1 || !STOP_WORDS.has(whole)) terms.add(whole.replace(/^[_$]+|[_$]+$/g, ''));
  if (parts.length > 1) for (const part of parts) if (!STOP_WORDS.has(part)) terms.add(part);
  const kept = [...terms].filter((term) => term.length >= MIN_TERM_LENGTH && term.length <= MAX_TERM_LENGTH);
  return kept.length > 0 ? kept : null;
}

/** The terms of a text, in order, as the index sees them (for tests and for the current file's boost). */
export function termsOf(text: string): string[] {
  return tokenize(text).flatMap((token) => processTerm(token) ?? []);
}
