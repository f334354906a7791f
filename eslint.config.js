// Typed lint for strata. Two import rules keep the layers honest: core/ is pure (no IO modules),
// and strata/layers lets each folder of src/ import only the layers below it (LAYERS).
import path from 'node:path';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// The layers of src/, top first. A folder may import its own files and any folder of a lower rank;
// folders of one rank do not import each other. '.' is src/*.ts itself (errors, clock, version).
// A new folder must be placed here (the rule reports a folder it does not know). README.md
// (Development) shows the same picture.
const LAYERS = [
  ['cli'], // argv → options, exit codes
  ['commands'], // one module per verb
  ['ops'], // run log, notifications: what commands record about a run (arrives with the ops branch)
  ['pipeline'], // backup, restore, verify as stages
  ['repository'], // the layout of sets on a destination, locks
  ['backend', 'archive', 'parity', 'scan', 'audit', 'config'], // storage, 7-Zip, PAR2, source walk, git trail, configuration
  ['exec', 'io', 'ui'], // child processes, local byte/line IO, output
  ['core'], // pure logic, no IO
  ['.'], // errors, clock, version
];
const RANK = new Map(LAYERS.flatMap((names, rank) => names.map((n) => [n, rank])));
const ORDER = LAYERS.map((names) => names.map((n) => (n === '.' ? 'src/*.ts' : n)).join('/')).join(' → ');

// Outside src/backend/, a backend is used through its contract (backend/backend.ts) and the
// factory (backend/open.ts), never through one backend's file: shared helpers belong in io/.
const BACKEND_PUBLIC = new Set(['backend/backend.js', 'backend/open.js', 'backend/keys.js', 'backend/tempnames.js']);

// Imports allowed for a while, reported as warnings ('from → target', paths under src/): a place
// to list a known exception while it is being removed. Empty: every import follows the layers.
const PENDING = new Set([]);

const SRC = path.join(import.meta.dirname, 'src');

/** layerOf is the layer of a path relative to src/: its first folder, or '.' for src/*.ts. */
function layerOf(rel) {
  const parts = rel.split(path.sep);
  return parts.length === 1 ? '.' : parts[0];
}

/** layersRule reports imports that go up or sideways; `pending` selects the PENDING ones (else all others). */
function layersRule(pending) {
  return {
    meta: { type: 'problem', schema: [] },
    create(context) {
      const file = path.relative(SRC, context.filename);
      if (file.startsWith('..') || path.isAbsolute(file)) return {};
      const from = layerOf(file);
      const check = (node) => {
        const source = node.source;
        if (source?.type !== 'Literal' || typeof source.value !== 'string' || !source.value.startsWith('.')) return;
        const target = path.relative(SRC, path.resolve(path.dirname(context.filename), source.value));
        if (target.startsWith('..')) return;
        const to = layerOf(target);
        const key = `${file.split(path.sep).join('/')} → ${target.split(path.sep).join('/')}`;
        if (PENDING.has(key) !== pending) return;
        let problem;
        if (!RANK.has(from)) problem = `src/${from}/ is in no layer: place it in LAYERS (eslint.config.js)`;
        else if (!RANK.has(to)) problem = `src/${to}/ is in no layer: place it in LAYERS (eslint.config.js)`;
        else if (from !== to && RANK.get(to) <= RANK.get(from)) problem = `${from} may not import ${to}: imports go down the layers ${ORDER}`;
        else if (from !== 'backend' && to === 'backend' && !BACKEND_PUBLIC.has(target.split(path.sep).join('/'))) {
          problem = `${target} is one backend's file: use the Backend contract (backend/backend.ts), openBackend (backend/open.ts), or a shared helper in io/`;
        }
        if (problem !== undefined) context.report({ node: source, message: pending ? `${problem} (temporary, listed in PENDING)` : problem });
      };
      return { ImportDeclaration: check, ExportNamedDeclaration: check, ExportAllDeclaration: check, ImportExpression: check };
    },
  };
}

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'bin/**', 'eslint.config.js', 'asm/**'] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: { allowDefaultProject: ['scripts/*.mjs'] }, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      '@typescript-eslint/no-unnecessary-condition': 'off',
      '@typescript-eslint/no-confusing-void-expression': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/require-await': 'off',
      'no-restricted-properties': ['error', { object: 'Date', property: 'now', message: 'Read time from the injected Clock (src/clock.ts).' }],
    },
  },
  {
    files: ['src/**/*.ts'],
    plugins: { strata: { rules: { layers: layersRule(false), 'layers-pending': layersRule(true) } } },
    rules: { 'strata/layers': 'error', 'strata/layers-pending': 'warn' },
  },
  {
    files: ['src/core/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        { group: ['node:fs', 'node:fs/*', 'fs', 'fs/*', 'node:child_process', 'child_process', 'node:net', 'node:http', 'node:https'], message: 'core/ is pure: no IO (strata/layers keeps the upper layers out).' },
      ] }],
    },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-floating-promises': 'off',
    },
  },
);
