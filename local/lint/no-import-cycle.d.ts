// The rule's type, for the tests that load it (ESLint loads the .js itself, so it stays JavaScript).
import type { Rule } from 'eslint';

declare const noImportCycle: Rule.RuleModule;
export default noImportCycle;
