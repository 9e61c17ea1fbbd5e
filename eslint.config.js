import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import noImportCycle from './local/lint/no-import-cycle.js';

export default tseslint.config(
  { ignores: ['node_modules/', '.serverless*/', '.esbuild*/', '.tvm/', '.tmp/', 'coverage/', 'console/dist/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', URL: 'readonly' } },
    plugins: { tvm: { rules: { 'no-import-cycle': noImportCycle } } },
    rules: {
      'tvm/no-import-cycle': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'off',
      // Input validation deliberately names control-character ranges.
      'no-control-regex': 'off',
    },
  },
  {
    // Serverless Framework plugins are CommonJS modules.
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { module: 'writable', require: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // Dependencies point inward: the domain knows nothing of AWS, Lambda, HTTP or the environment.
    files: ['shared/domain/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['@aws-sdk/*', '@smithy/*', 'aws-lambda', '@middy/*', 'jose'], message: 'shared/domain must stay pure.' },
            { group: ['**/adapters/*', '**/http/*', '**/composition*', '**/config*'], message: 'pass adapters in; do not import them.' },
          ],
        },
      ],
      'no-restricted-properties': ['error', { object: 'process', property: 'env', message: 'read config in shared/config.ts' }],
    },
  },
  {
    // Only adapters (and dev-only local tooling) talk to AWS.
    files: ['functions/**/*.ts', 'shared/http/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['@aws-sdk/*'], message: 'AWS SDK calls belong in shared/adapters.' }] }],
    },
  },
);
