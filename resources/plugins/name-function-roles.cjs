// Names every function's role TvmFn-<stage>-<region>-<function> (the per-function plugin would call
// it tvm-<stage>-<function>-<region>-lambdaRole), unless serverless.yml names it (the cut-off
// functions' TvmCutOff-…). A tvm-* name falls under the default roleArnPattern, so tvm's own
// functions' calls (a vend's AssumeRole, a cut-off's PutRolePolicy) would be recorded as uses of a
// target role by a session tvm never issued, and alerted as such. shared/config.ts refuses a
// roleArnPattern that covers these names.
'use strict';

const ROLE_SUFFIX = 'IamRoleLambdaExecution';

class NameFunctionRoles {
  constructor(serverless) {
    this.serverless = serverless;
    this.hooks = { 'before:package:finalize': () => this.name() };
  }

  name() {
    const { service, providers } = this.serverless;
    const resources = service.provider.compiledCloudFormationTemplate.Resources;
    for (const [functionName, definition] of Object.entries(service.functions)) {
      const role = resources[`${providers.aws.naming.getNormalizedFunctionName(functionName)}${ROLE_SUFFIX}`];
      if (!role || definition.iamRoleStatementsName) continue;
      role.Properties.RoleName = { 'Fn::Join': ['-', ['TvmFn', providers.aws.getStage(), { Ref: 'AWS::Region' }, functionName]] };
    }
  }
}

module.exports = NameFunctionRoles;
