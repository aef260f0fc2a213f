// `npm run lint`: eslint over src/, test/ (tests and harness) and scripts/,
// type-aware for TypeScript through test/tsconfig.json, which covers both
// src/ and test/; `tsc -p test/tsconfig.json` is the type check itself.
import js from '@eslint/js'
import globals from 'globals'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  { ignores: ['dist/', 'build/', 'build-sanitize/', 'prebuilds/', 'node_modules/'] },
  js.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      globals: { ...globals.node },
      parserOptions: { project: ['./test/tsconfig.json'], tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // src/ is compiled to CommonJS and imports with `import x = require()`;
      // a plain require() is for what loads lazily: undici and
      // @opentelemetry/api (optional peers), node-gyp-build, and the package's own modules that importing
      // it must not pay for (the fallback, the hooks' install and agents).
      '@typescript-eslint/no-require-imports': ['error', { allowAsImport: true, allow: ['^undici$', '^@opentelemetry/api$', '^node-gyp-build$', '^\\./[\\w-]+$'] }],
      // `_name` marks a parameter or destructured key kept for its position.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
    },
  },
  {
    // Plain JavaScript (the harness, build and bench scripts): no type information.
    files: ['**/*.mjs', '**/*.cjs', '**/*.js'],
    extends: [tseslint.configs.disableTypeChecked],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
)
