// Stands in for @aws-sdk/credential-provider-node in the Lambda bundles (serverless.yml,
// custom.esbuild.alias). Lambda hands every function its execution role's credentials in
// AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, so the rest of the default chain
// (SSO, profiles, web identity, IMDS, the nested STS/SSO clients it carries) is dead weight: about
// 100 kB of every bundle and part of every cold start. A missing variable fails the first AWS call,
// never falls back to another identity.
export { fromEnv as defaultProvider } from '@aws-sdk/credential-provider-env';
