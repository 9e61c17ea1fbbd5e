// One jest project per test layer; `npm test` runs them all (see package.json scripts).

// The AWS SDK's notice that its 2027 releases need Node 22 would print in every worker: the README
// says it once (tests run on Node 20.19+, the functions on nodejs22.x). Workers inherit this.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const transform = {
  '^.+\\.ts$': ['ts-jest', { useESM: true }],
};
const common = {
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: {
    '^(\\.{1,2}/.*)\\.js$': '$1',
    // Its "ESM" build is plain .js in a CommonJS package, which Jest's ESM mode cannot load.
    '^aws-sdk-client-mock-jest$': '<rootDir>/node_modules/aws-sdk-client-mock-jest/dist/cjs/jest.js',
  },
  testEnvironment: 'node',
  transform,
};

export default {
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    { ...common, displayName: 'integration', testMatch: ['<rootDir>/test/integration/**/*.test.ts'] },
    { ...common, displayName: 'template', testMatch: ['<rootDir>/test/template/**/*.test.ts'] },
    {
      ...common,
      displayName: 'e2e',
      testMatch: ['<rootDir>/test/e2e/**/*.test.ts'],
      // One local stack (DynamoDB Local, local STS, dev issuer, serverless-offline) for the run.
      globalSetup: '<rootDir>/test/e2e/support/global-setup.js',
      globalTeardown: '<rootDir>/test/e2e/support/global-teardown.js',
    },
    {
      // The long runs (`npm run test:stress`, not part of `npm test`): 1,000+ generated cases per
      // route, 200 concurrent vends. Same local stack as e2e.
      ...common,
      displayName: 'stress',
      testMatch: ['<rootDir>/test/stress/**/*.test.ts'],
      globalSetup: '<rootDir>/test/e2e/support/global-setup.js',
      globalTeardown: '<rootDir>/test/e2e/support/global-teardown.js',
    },
  ],
};
