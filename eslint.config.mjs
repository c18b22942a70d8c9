// Layer boundaries (../shared/DESIGN.md) are enforced here: the engine never sees the editor,
// and the extension only talks to the engine through its client API.
import tseslint from 'typescript-eslint';

export default tseslint.config(
  // .ringdb/ holds what `npm start` made: cluster data and the extension copy installed into code-server.
  { ignores: ['dist/**', 'node_modules/**', '.vscode-test/**', 'src/engine/gen/**', 'tools/**', 'out/**', 'media/vendor/**', '.ringdb/**', 'test-results/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'off',
    },
  },
  {
    files: ['src/engine/**/*.ts', 'bench/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: [{ name: 'vscode', message: 'src/engine must not depend on the editor (DESIGN.md layers).' }],
      }],
    },
  },
  {
    files: ['src/extension/**/*.ts', 'test/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { regex: '^\\.{1,2}/(.*/)?engine(/|$)', message: 'The extension talks to the engine only through @ringdb/engine/client.' },
          { regex: '^@ringdb/engine(?!/client$)', message: 'The extension talks to the engine only through @ringdb/engine/client.' },
        ],
      }],
    },
  },
  {
    files: ['**/*.mjs', '**/*.cjs', '**/*.js'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
