// How text becomes search terms, for the files and for the questions alike. Code names
// things in camelCase, PascalCase and snake_case, while people ask in words: an identifier is
// indexed whole and as its parts, so "retry" finds retryWithBackoff and "retryWithBackoff"
// finds it best of all (the whole identifier is the rarer term).

/** Runs of letters and digits; `_` and `$` join the parts of one identifier. */
const IDENTIFIER = /[\p{L}\p{N}_$]+/gu;

// Words that say nothing about which code a question is about. Only function words: "file",
// "use" or "project" name things in code too. (The ranking, ts_rank, does not weigh a term by
// how rare it is: a word dropped here is one that would match nearly every chunk.)
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
// Small, because the server keeps it between questions: 200,000 entries held 66 MiB after
// indexing a project of 40,000 files.
const expanded = new Map<string, string[] | null>();
const EXPANDED_CACHE = 20_000;

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

// PostgreSQL's text search parser splits at `_` and `$`, which would cut a compound term such
// as retry_with_backoff back into its words: a term becomes a lexeme without them (the parts
// are terms of their own already). Everything else of a term is letters and digits, one token
// of the 'simple' configuration each.
const lexeme = (term: string) => term.replace(/[_$]+/g, '');

/** A text's terms as the words to_tsvector('simple', …) makes its lexemes of, in order. */
export function lexemesOf(text: string): string {
  return termsOf(text).map(lexeme).join(' ');
}

/** The lexemes of the names a chunk defines. */
export function definedLexemes(names: string[]): string {
  return names.flatMap((name) => processTerm(name) ?? []).map(lexeme).join(' ');
}

/** Terms of a question that count alike: a tsquery (for to_tsquery('simple', …)) and its weight. */
export interface QueryGroup {
  query: string;
  /** Distinct lexemes in the query: ts_rank divides by it, the score should not. */
  terms: number;
  weight: number;
}

/** How much a compound identifier the question names counts, against one of its words. */
export const COMPOUND_BOOST = 3;
/** What a match of a term's prefix only (retry → retryable) counts, against the term itself. */
export const PREFIX_WEIGHT = 0.375;
/** Terms of at least this length also match longer lexemes that start with them. */
const PREFIX_MIN_LENGTH = 5;

/**
 * A question as groups of lexemes. A compound identifier it names (retryWithBackoff) is
 * matched whole and weighs more than its words, which are not widened to every name that starts
 * with them; other words of five letters or more also find the longer words they start
 * ("retry" finds retrying and retryable), at a lower weight.
 */
export function queryGroups(question: string): QueryGroup[] {
  const compounds = compoundTerms(question);
  const parts = new Set<string>();
  for (const token of tokenize(question)) if (identifierParts(token).length > 1) for (const term of processTerm(token) ?? []) parts.add(term);
  const exact = new Map<number, Set<string>>();
  const prefix = new Map<number, Set<string>>();
  const add = (groups: Map<number, Set<string>>, weight: number, value: string) => {
    if (value === '') return;
    let group = groups.get(weight);
    if (!group) groups.set(weight, (group = new Set()));
    group.add(value);
  };
  for (const term of new Set(termsOf(question))) {
    const weight = compounds.has(term) ? COMPOUND_BOOST : 1;
    add(exact, weight, lexeme(term));
    if (term.length >= PREFIX_MIN_LENGTH && !parts.has(term)) add(prefix, weight * PREFIX_WEIGHT, lexeme(term));
  }
  const groups: QueryGroup[] = [];
  for (const [weight, lexemes] of exact) groups.push({ query: [...lexemes].join(' | '), terms: lexemes.size, weight });
  for (const [weight, lexemes] of prefix) groups.push({ query: [...lexemes].map((l) => `${l}:*`).join(' | '), terms: lexemes.size, weight });
  return groups;
}
