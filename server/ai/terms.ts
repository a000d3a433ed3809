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

/**
 * A plural as its singular, for words (not whole identifiers): "invoices" finds invoice,
 * "retries" finds retry. Only that much stemming: code words bend little, and a wrong stem
 * joins words that differ.
 */
export function singular(word: string): string {
  if (word.length <= 4 || !word.endsWith('s') || /(ss|us|is)$/.test(word)) return word;
  if (word.endsWith('ies')) return `${word.slice(0, -3)}y`;
  if (/(ches|shes|xes|sses)$/.test(word)) return word.slice(0, -2);
  return word.slice(0, -1);
}

const isPlainWord = /^[a-z0-9]+$/;
const keep = (term: string) => term.length >= MIN_TERM_LENGTH && term.length <= MAX_TERM_LENGTH;

function expandTerm(token: string): string[] | null {
  const whole = token.toLowerCase();
  // Most tokens of code are plain lowercase words: no splitting needed.
  if (isPlainWord.test(token)) return STOP_WORDS.has(whole) || !keep(whole) ? null : [singular(whole)];
  const parts = identifierParts(token).map((part) => part.toLowerCase());
  const terms = new Set<string>();
  const trimmed = whole.replace(/^[_$]+|[_$]+$/g, '');
  if (parts.length > 1 || !STOP_WORDS.has(trimmed)) terms.add(parts.length > 1 ? trimmed : singular(trimmed));
  if (parts.length > 1) for (const part of parts) if (!STOP_WORDS.has(part)) terms.add(singular(part));
  const kept = [...terms].filter(keep);
  return kept.length > 0 ? kept : null;
}

// Code repeats its identifiers endlessly: expanding each once makes indexing several times faster.
const expanded = new Map<string, string[] | null>();
const EXPANDED_CACHE = 200_000;

/** A token as its index terms: the whole (lowercased) and, for a compound, each part. */
export function processTerm(token: string): string[] | null {
  let terms = expanded.get(token);
  if (terms === undefined) {
    terms = expandTerm(token);
    if (expanded.size >= EXPANDED_CACHE) expanded.clear();
    expanded.set(token, terms);
  }
  return terms;
}

/** The compound identifiers of a text, lowercased whole: the terms a question names exactly. */
export function compoundTerms(text: string): Set<string> {
  const compounds = new Set<string>();
  for (const token of tokenize(text)) {
    const parts = identifierParts(token);
    if (parts.length > 1) compounds.add(token.toLowerCase().replace(/^[_$]+|[_$]+$/g, ''));
  }
  return compounds;
}

// Where code defines a name: `function x`, `class X`, `def x`, `fn x`, `func (r T) x`,
// `type X`, a top-level `const x =`, and methods (`  name(args) {`).
const DEFINITION_PATTERNS = [
  /\b(?:function\*?|class|interface|type|enum|struct|trait|def|fn|func(?:\s*\([^)]*\))?|module|namespace|macro)\s+([A-Za-z_$][\w$]*)/g,
  /^(?:export\s+)?(?:const|let|var|val)\s+([A-Za-z_$][\w$]*)/gm,
  /^[ \t]+(?:(?:public|private|protected|static|async|override|readonly|get|set)\s+)*([A-Za-z_$][\w$]*)\s*\([^)]*\)\s*(?::[^{;=]*)?\{[ \t]*$/gm,
];
const NOT_A_NAME = new Set(['if', 'for', 'while', 'switch', 'catch', 'function', 'return', 'constructor']);

/** The names a chunk of code defines, as written. */
export function definedNames(text: string): string[] {
  const names = new Set<string>();
  for (const pattern of DEFINITION_PATTERNS) {
    for (const match of text.matchAll(pattern)) {
      const name = match[1];
      if (name && !NOT_A_NAME.has(name)) names.add(name);
    }
  }
  return [...names];
}

/** The terms of a text, in order, as the index sees them (for tests and for the current file's boost). */
export function termsOf(text: string): string[] {
  return tokenize(text).flatMap((token) => processTerm(token) ?? []);
}
