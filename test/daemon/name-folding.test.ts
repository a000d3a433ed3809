import { link, mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../bench/lib.js';
import {
  collisionMessage,
  FoldedNames,
  findCollisions,
  type FolderNaming,
  nameKey,
  namingEvidence,
  parseFolderNaming,
  platformNaming,
  probeFolderNaming,
} from '../../daemon/name-folding.js';
import { makeTempFolder } from './temp-folders.js';

const NAMINGS = {
  sensitive: { caseInsensitive: false, unicodeInsensitive: false },
  case: { caseInsensitive: true, unicodeInsensitive: false },
  unicode: { caseInsensitive: false, unicodeInsensitive: true },
  both: { caseInsensitive: true, unicodeInsensitive: true },
} satisfies Record<string, FolderNaming>;
type NamingName = keyof typeof NAMINGS;

// Escapes, so the source shows which form each name is in.
const E_NFC = '\u00e9'; // é
const E_NFD = 'e\u0301'; // e + combining acute
const CAP_E_NFC = '\u00c9'; // É
const CAP_E_NFD = 'E\u0301';

const keys: Array<[string, NamingName, string]> = [
  ['README.md', 'sensitive', 'README.md'],
  ['README.md', 'case', 'readme.md'],
  ['README.md', 'unicode', 'README.md'],
  ['README.md', 'both', 'readme.md'],
  ['readme.md', 'case', 'readme.md'],
  [`caf${E_NFD}.md`, 'sensitive', `caf${E_NFD}.md`],
  [`caf${E_NFD}.md`, 'case', `caf${E_NFD}.md`],
  [`caf${E_NFD}.md`, 'unicode', `caf${E_NFC}.md`],
  [`caf${E_NFD}.md`, 'both', `caf${E_NFC}.md`],
  [`caf${E_NFC}.md`, 'unicode', `caf${E_NFC}.md`],
  [`CAF${CAP_E_NFC}.md`, 'case', `caf${E_NFC}.md`],
  [`CAF${CAP_E_NFD}.md`, 'case', `caf${E_NFD}.md`],
  [`CAF${CAP_E_NFD}.md`, 'unicode', `CAF${CAP_E_NFC}.md`],
  [`CAF${CAP_E_NFD}.md`, 'both', `caf${E_NFC}.md`],
  ['Docs/A.md', 'sensitive', 'Docs/A.md'],
  ['Docs/A.md', 'case', 'docs/a.md'],
  ['Docs/A.md', 'unicode', 'Docs/A.md'],
  ['SRC/Lib/Index.TS', 'both', 'src/lib/index.ts'],
  [`${CAP_E_NFD}t${E_NFD}/Note.md`, 'both', `${E_NFC}t${E_NFC}/note.md`],
  // No precomposed capital: lowercasing makes a pair that NFC composes into U+1E98.
  ['W\u030a.md', 'both', '\u1e98.md'],
  ['W\u030a.md', 'case', 'w\u030a.md'],
  // The angstrom sign is the letter Å once normalised.
  ['\u212b.md', 'unicode', '\u00c5.md'],
  ['\u212b.md', 'both', '\u00e5.md'],
  ['\u212b.md', 'case', '\u212b.md'.toLowerCase()],
  // Simple folding only: ß is not SS.
  ['STRASSE.md', 'case', 'strasse.md'],
  ['Straße.md', 'case', 'straße.md'],
  ['123/_-.txt', 'both', '123/_-.txt'],
];

describe('nameKey', () => {
  it.each(keys)('%j under %s is %j', (path, naming, key) => {
    expect(nameKey(path, NAMINGS[naming])).toBe(key);
  });
});

const collisions: Array<[string, string[], NamingName, Array<[string, string]>]> = [
  ['two case variants', ['readme.md', 'README.md'], 'case', [['readme.md', 'README.md']]],
  ['two case variants, both foldings', ['readme.md', 'README.md'], 'both', [['readme.md', 'README.md']]],
  ['two case variants, unicode only', ['readme.md', 'README.md'], 'unicode', []],
  ['two case variants, sensitive', ['readme.md', 'README.md'], 'sensitive', []],
  ['three variants', ['ReadMe.md', 'readme.md', 'README.md'], 'case', [['ReadMe.md', 'README.md'], ['readme.md', 'README.md']]],
  ['NFC and NFD', [`caf${E_NFC}.md`, `caf${E_NFD}.md`], 'unicode', [[`caf${E_NFC}.md`, `caf${E_NFD}.md`]]],
  ['NFC and NFD, both foldings', [`caf${E_NFC}.md`, `caf${E_NFD}.md`], 'both', [[`caf${E_NFC}.md`, `caf${E_NFD}.md`]]],
  ['NFC and NFD, case only (NTFS)', [`caf${E_NFC}.md`, `caf${E_NFD}.md`], 'case', []],
  [
    'case and form at once',
    [`Caf${E_NFC}.md`, `caf${E_NFD}.md`, `CAF${CAP_E_NFC}.md`],
    'both',
    [[`Caf${E_NFC}.md`, `CAF${CAP_E_NFC}.md`], [`caf${E_NFD}.md`, `CAF${CAP_E_NFC}.md`]],
  ],
  ['folders differing in case', ['docs/a.md', 'Docs/a.md'], 'case', [['docs/a.md', 'Docs/a.md']]],
  ['nested folders differing in case', ['src/Lib/x.ts', 'src/lib/x.ts', 'SRC/lib/x.ts'], 'case', [['src/Lib/x.ts', 'SRC/lib/x.ts'], ['src/lib/x.ts', 'SRC/lib/x.ts']]],
  ['different files in case-variant folders', ['Docs/a.md', 'docs/b.md'], 'case', []],
  ['two groups', ['A.md', 'a.md', 'B.md', 'b.md', 'c.md'], 'case', [['a.md', 'A.md'], ['b.md', 'B.md']]],
  ['no variants', ['a.md', 'b.md', 'src/a.md'], 'both', []],
  ['one path listed twice', ['a.md', 'a.md'], 'case', []],
  ['nothing', [], 'both', []],
];

describe('findCollisions', () => {
  it.each(collisions)('%s', (_label, paths, naming, shadowed) => {
    expect(findCollisions(paths, NAMINGS[naming])).toEqual(new Map(shadowed));
  });

  it('picks the same winners whatever the order of the paths', () => {
    const paths = ['README.md', 'readme.md', 'ReadMe.md', `caf${E_NFC}`, `caf${E_NFD}`, `CAF${CAP_E_NFD}`, 'Docs/a.md', 'docs/a.md', 'src/x.ts', 'b'];
    const expected = findCollisions(paths, NAMINGS.both);
    expect(expected.size).toBe(5);
    const random = seededRandom(7);
    for (let round = 0; round < 50; round++) {
      const shuffled = [...paths].sort(() => random() - 0.5);
      const found = findCollisions(shuffled, NAMINGS.both);
      expect([...found].sort()).toEqual([...expected].sort());
    }
  });

  it('takes any iterable, such as the keys of the project map', () => {
    const project = new Map([['README.md', 1], ['readme.md', 2]]);
    expect(findCollisions(project.keys(), NAMINGS.case)).toEqual(new Map([['readme.md', 'README.md']]));
  });

  it('does not even read the paths when the folder tells every name apart', () => {
    const paths = {
      *[Symbol.iterator](): Iterator<string> {
        throw new Error('read');
      },
    };
    expect(findCollisions(paths, NAMINGS.sensitive)).toEqual(new Map());
  });
});

describe('collisionMessage', () => {
  it.each([
    ['readme.md', 'README.md', 'readme.md not written here: it collides with README.md on this file system'],
    ['docs/a.md', 'Docs/a.md', 'docs/a.md not written here: it collides with Docs/a.md on this file system'],
  ])('%s yielding to %s', (shadowed, winner, message) => {
    expect(collisionMessage(shadowed, winner)).toBe(message);
  });
});

const VALID_OVERRIDES = ['sensitive', 'case-insensitive', 'unicode-insensitive', 'case-insensitive,unicode-insensitive'];

describe('parseFolderNaming', () => {
  it.each<[string, FolderNaming]>([
    ['sensitive', NAMINGS.sensitive],
    ['case-insensitive', NAMINGS.case],
    ['unicode-insensitive', NAMINGS.unicode],
    ['case-insensitive,unicode-insensitive', NAMINGS.both],
  ])('%s', (value, naming) => {
    expect(parseFolderNaming(value)).toEqual(naming);
  });

  it.each(['insensitive', 'CASE-INSENSITIVE', ' sensitive', 'case-insensitive, unicode-insensitive', 'unicode-insensitive,case-insensitive', 'constructor', '__proto__', 'true'])(
    'refuses %j, naming the valid values',
    (value) => {
      expect(() => parseFolderNaming(value)).toThrowError(/^CODESHARE_FOLDER_NAMING=.* is not valid; use one of: /);
      expect(() => parseFolderNaming(value)).toThrowError(VALID_OVERRIDES.join(', '));
    },
  );
});

describe('platformNaming', () => {
  it.each<[NodeJS.Platform, FolderNaming]>([
    ['darwin', NAMINGS.both],
    ['win32', NAMINGS.case],
    ['linux', NAMINGS.sensitive],
    ['freebsd', NAMINGS.sensitive],
  ])('%s', (platform, naming) => {
    expect(platformNaming(platform)).toEqual(naming);
  });
});

/** Every name under `root`, to show that probing wrote nothing. */
async function listing(root: string): Promise<string[]> {
  return (await readdir(root, { recursive: true })).sort();
}

/** Probes `root` and checks that the probe left the folder as it was. */
async function probeUnchanged(root: string, override?: string): Promise<FolderNaming> {
  const before = await listing(root);
  const naming = await probeFolderNaming(root, override);
  expect(await listing(root)).toEqual(before);
  return naming;
}

describe('probeFolderNaming', () => {
  it.runIf(process.platform === 'linux')('finds this Linux folder case- and form-sensitive from its names', async () => {
    const root = await makeTempFolder('naming');
    await writeFile(join(root, 'Readme.md'), '# hi\n');
    await writeFile(join(root, `caf${E_NFC}.md`), '');
    expect(await namingEvidence(root)).toEqual({ caseInsensitive: false, unicodeInsensitive: false });
    expect(await probeUnchanged(root)).toEqual(NAMINGS.sensitive);
  });

  it('falls back to the platform default in an empty folder', async () => {
    const root = await makeTempFolder('naming');
    expect(await namingEvidence(root)).toEqual({});
    expect(await probeUnchanged(root)).toEqual(platformNaming(process.platform));
    if (process.platform === 'linux') expect(await probeFolderNaming(root)).toEqual(NAMINGS.sensitive);
  });

  it('falls back for the question the names cannot answer', async () => {
    const root = await makeTempFolder('naming');
    await writeFile(join(root, 'Readme.md'), '');
    const evidence = await namingEvidence(root);
    expect(evidence.caseInsensitive).toBeTypeOf('boolean');
    expect(evidence.unicodeInsensitive).toBeUndefined();
    expect((await probeUnchanged(root)).unicodeInsensitive).toBe(platformNaming(process.platform).unicodeInsensitive);
  });

  it('looks into subfolders when the root has no name with a letter', async () => {
    const root = await makeTempFolder('naming');
    await mkdir(join(root, '2024/01'), { recursive: true });
    await writeFile(join(root, '2024/01/Notes.md'), '');
    await writeFile(join(root, '42'), '');
    expect((await namingEvidence(root)).caseInsensitive).toBeTypeOf('boolean');
    await probeUnchanged(root);
  });

  it('reads only a few folders', async () => {
    const root = await makeTempFolder('naming');
    const deep = join(root, '1/2/3/4/5/6/7/8/9/10');
    await mkdir(deep, { recursive: true });
    await writeFile(join(deep, 'Readme.md'), '');
    expect(await namingEvidence(root)).toEqual({});
  });

  it('reads .git when nothing else has a name with a letter', async () => {
    const root = await makeTempFolder('naming');
    await mkdir(join(root, '.git'));
    await writeFile(join(root, '.git/HEAD'), 'ref: refs/heads/main\n');
    await writeFile(join(root, '1'), '');
    expect((await namingEvidence(root)).caseInsensitive).toBeTypeOf('boolean');
    await probeUnchanged(root);
  });

  it('takes evidence from inside .git, never from its own name', async () => {
    const root = await makeTempFolder('naming');
    await mkdir(join(root, '.git'));
    expect(await namingEvidence(root)).toEqual({});
  });

  it.runIf(process.platform === 'linux')('counts two listed spellings as two files, even hard-linked', async () => {
    const root = await makeTempFolder('naming');
    await writeFile(join(root, 'a'), '');
    await link(join(root, 'a'), join(root, 'A'));
    expect(await namingEvidence(root)).toEqual({ caseInsensitive: false });
  });

  it.each<[string, FolderNaming]>([
    ['sensitive', NAMINGS.sensitive],
    ['case-insensitive', NAMINGS.case],
    ['unicode-insensitive', NAMINGS.unicode],
    ['case-insensitive,unicode-insensitive', NAMINGS.both],
  ])('takes the override %s over what the folder shows', async (override, naming) => {
    const root = await makeTempFolder('naming');
    await writeFile(join(root, 'Readme.md'), '');
    await writeFile(join(root, `caf${E_NFD}.md`), '');
    expect(await probeUnchanged(root, override)).toEqual(naming);
  });

  it('treats an empty override as none', async () => {
    const root = await makeTempFolder('naming');
    expect(await probeUnchanged(root, '')).toEqual(platformNaming(process.platform));
  });

  it('refuses a bad override, naming the valid values', async () => {
    const root = await makeTempFolder('naming');
    await expect(probeUnchanged(root, 'insensitive')).rejects.toThrowError(`use one of: ${VALID_OVERRIDES.join(', ')}`);
    expect(await listing(root)).toEqual([]);
  });
});

describe('FoldedNames, kept up to date', () => {
  const insensitive = { caseInsensitive: true, unicodeInsensitive: true };
  const steps: Array<[string, 'add' | 'delete', string]> = [
    ['a first path', 'add', 'Notes.md'],
    ['a case variant', 'add', 'notes.md'],
    ['an unrelated path', 'add', 'src/a.ts'],
    ['a folder differing in case', 'add', 'SRC/a.ts'],
    ['the winner leaves', 'delete', 'Notes.md'],
    ['a third variant', 'add', 'NOTES.md'],
    ['a path that was never there', 'delete', 'nothing.md'],
    ['an NFD spelling', 'add', 'cafe\u0301.md'],
    ['its NFC twin', 'add', 'caf\u00e9.md'],
    ['the last of a group leaves', 'delete', 'src/a.ts'],
  ];
  it('agrees with findCollisions after every step', () => {
    const folded = new FoldedNames(insensitive);
    const paths = new Set<string>();
    for (const [name, action, path] of steps) {
      if (action === 'add') {
        folded.add(path);
        paths.add(path);
      } else {
        folded.delete(path);
        paths.delete(path);
      }
      const expected = findCollisions(paths, insensitive);
      for (const candidate of paths) {
        expect(folded.winnerFor(candidate), `${name}: winner for ${candidate}`).toBe(expected.get(candidate) ?? candidate);
      }
    }
  });

  it('keeps nothing and folds nothing on a case-sensitive folder', () => {
    const folded = new FoldedNames({ caseInsensitive: false, unicodeInsensitive: false });
    folded.add('Notes.md');
    folded.add('notes.md');
    expect(folded.folds).toBe(false);
    expect(folded.winnerFor('notes.md')).toBeNull();
    expect(folded.sharing('notes.md')).toEqual(['notes.md']);
  });

  it('tells which paths share a name, and maps a disk spelling to the project path', () => {
    const folded = new FoldedNames(insensitive);
    folded.add('README.md');
    expect(folded.winnerFor('readme.md')).toBe('README.md');
    folded.add('readme.md');
    expect(folded.sharing('Readme.MD').sort()).toEqual(['README.md', 'readme.md']);
    expect(folded.winnerFor('nothing-here.md')).toBeNull();
  });
});
