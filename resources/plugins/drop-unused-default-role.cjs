// Every tvm function has a role of its own (serverless-iam-roles-per-function), yet the framework
// still compiles its shared default role and grants it the permissions of every event source
// (stream reads, dead-letter writes). Unused, it would only be a privileged role anyone allowed to
// pass roles could attach to a new function: drop it from the template when no function uses it.
'use strict';

const DEFAULT_ROLE = 'IamRoleLambdaExecution';

class DropUnusedDefaultRole {
  constructor(serverless) {
    this.serverless = serverless;
    this.hooks = { 'before:package:finalize': () => this.drop() };
  }

  drop() {
    const resources = this.serverless.service.provider.compiledCloudFormationTemplate.Resources;
    if (!resources[DEFAULT_ROLE]) return;
    const { [DEFAULT_ROLE]: _role, ...others } = resources;
    if (JSON.stringify(others).includes(`"${DEFAULT_ROLE}"`)) return;
    delete resources[DEFAULT_ROLE];
  }
}

module.exports = DropUnusedDefaultRole;
