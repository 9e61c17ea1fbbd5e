// Serverless Framework v3 predates the nodejs22.x runtime: its config schema lists runtimes up to
// nodejs20.x and warns about ours on every command, though CloudFormation and Lambda take it. Teach
// the schema the runtime (and only that), so a real configuration warning still stands out.
'use strict';

const RUNTIME = 'nodejs22.x';

class Nodejs22Runtime {
  constructor(serverless) {
    const runtimes = serverless.configSchemaHandler.schema.definitions.awsLambdaRuntime?.enum;
    if (Array.isArray(runtimes) && !runtimes.includes(RUNTIME)) runtimes.push(RUNTIME);
  }
}

module.exports = Nodejs22Runtime;
