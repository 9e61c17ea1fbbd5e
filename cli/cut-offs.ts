// How every command that cuts sessions off (grants revoke, engagements handover, lockdown on) shows
// what it cut, and what it could not cut yet.
import type { RevokedSession, SessionNotCut } from '../shared/domain/model.js';
import { printHeading } from './formats.js';
import type { CliContext } from './context.js';
import { printTable, type Column } from './output.js';

const SESSION_COLUMNS: readonly Column<RevokedSession>[] = [
  { key: 'accessKeyId', header: 'ACCESS KEY' },
  { key: 'sourceIdentity', header: 'SOURCE IDENTITY' },
  { key: 'expiration', header: 'EXPIRES' },
];

const NOT_CUT_COLUMNS: readonly Column<SessionNotCut>[] = [
  ...(SESSION_COLUMNS as readonly Column<SessionNotCut>[]),
  { key: 'roleArn', header: 'ROLE' },
  { key: 'code', header: 'ERROR' },
  { key: 'message', header: 'MESSAGE' },
];

export interface CutOffAnswer {
  readonly revokedSessions: readonly RevokedSession[];
  readonly sessionsNotCut: readonly SessionNotCut[];
  readonly roleWideFallback: boolean;
}

export function printCutOff(context: CliContext, answer: CutOffAnswer): void {
  printHeading(context, 'sessions cut off');
  printTable(context.stdout, answer.revokedSessions, SESSION_COLUMNS);
  if (answer.roleWideFallback) {
    context.stdout.write("note: a role's revocation policy was full, so every session of it issued before the cut-off was cut off\n");
  }
  // The decision stands either way; tvm's schedule keeps trying what IAM refused until it holds.
  if (answer.sessionsNotCut.length > 0) {
    printHeading(context, 'sessions NOT cut off yet (tvm retries every 5 minutes)');
    printTable(context.stdout, answer.sessionsNotCut, NOT_CUT_COLUMNS);
    context.stderr.write(`tvm: warning: ${answer.sessionsNotCut.length} session(s) could not be cut off yet; see above\n`);
  }
}
