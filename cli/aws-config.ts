// Merging tvm's profiles into ~/.aws/config without disturbing anything else in it. The file is
// treated as lines, not parsed and re-serialised, so every byte tvm does not own stays as it was.
// tvm owns a stanza when it is `[profile tvm-…]` and its credential_process runs `tvm credentials`.
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';

export const PROFILE_PREFIX = 'tvm-';

export interface TvmProfileStanza {
  /** The tvm profile name; the AWS profile is `tvm-<name>`. */
  readonly name: string;
  readonly region?: string;
}

export interface MergeResult {
  readonly text: string;
  /** AWS profile names of tvm's stanzas that were replaced or removed. */
  readonly replaced: readonly string[];
  /** AWS profile names tvm wanted to write but that someone else's stanza already uses. */
  readonly skipped: readonly string[];
}

const SECTION = /^\s*\[([^\]]*)\]\s*$/;
const COMMENT_OR_BLANK = /^\s*([#;].*)?$/;
const TVM_CREDENTIAL_PROCESS = /^\s*credential_process\s*=\s*tvm\s+credentials\s/;

export function renderStanza(stanza: TvmProfileStanza): string {
  return (
    `[profile ${PROFILE_PREFIX}${stanza.name}]\n` +
    `credential_process = tvm credentials ${stanza.name} --format credential-process\n` +
    (stanza.region ? `region = ${stanza.region}\n` : '')
  );
}

interface Section {
  /** The section's name, without brackets and surrounding spaces; undefined for the preamble. */
  readonly name?: string;
  readonly lines: string[];
}

/**
 * Removes every stanza tvm wrote and appends the given ones. A stanza's trailing blank and comment
 * lines are left in place (they usually introduce the next section); a removed stanza's blank lines
 * that follow it go with it, so merging twice gives the same file.
 */
export function mergeAwsConfig(existing: string, stanzas: readonly TvmProfileStanza[]): MergeResult {
  const sections = splitSections(existing);
  const replaced: string[] = [];
  const kept: string[] = [];
  const taken = new Set<string>();
  for (const section of sections) {
    if (section.name !== undefined && isTvmOwned(section)) {
      replaced.push(profileName(section.name) ?? section.name);
      kept.push(...trailingCommentsToKeep(section.lines));
      continue;
    }
    const profile = section.name === undefined ? undefined : profileName(section.name);
    if (profile !== undefined) taken.add(profile);
    kept.push(...section.lines);
  }
  const written = stanzas.filter((stanza) => !taken.has(`${PROFILE_PREFIX}${stanza.name}`));
  const skipped = stanzas.filter((stanza) => taken.has(`${PROFILE_PREFIX}${stanza.name}`)).map((s) => `${PROFILE_PREFIX}${s.name}`);

  let text = kept.join('');
  if (written.length > 0) {
    if (text !== '' && !text.endsWith('\n')) text += '\n';
    if (text !== '' && !/\r?\n\r?\n$/.test(text)) text += '\n';
    text += written.map(renderStanza).join('\n');
  }
  return { text, replaced, skipped };
}

/** Lines with their line endings, grouped by section; the text before the first header is the preamble. */
function splitSections(text: string): Section[] {
  const lines = text.match(/[^\n]*\n|[^\n]+$/g) ?? [];
  const sections: Section[] = [{ lines: [] }];
  for (const line of lines) {
    const header = SECTION.exec(line.replace(/\r?\n$/, ''));
    if (header) sections.push({ name: (header[1] ?? '').trim(), lines: [line] });
    else sections[sections.length - 1]?.lines.push(line);
  }
  return sections;
}

function profileName(sectionName: string): string | undefined {
  const match = /^profile\s+(\S+)$/.exec(sectionName);
  return match?.[1];
}

function isTvmOwned(section: Section): boolean {
  const profile = section.name === undefined ? undefined : profileName(section.name);
  return profile !== undefined && profile.startsWith(PROFILE_PREFIX) && section.lines.some((line) => TVM_CREDENTIAL_PROCESS.test(line));
}

/** After a removed stanza's last setting: blank lines go with it, comment lines (and what follows them) stay. */
function trailingCommentsToKeep(lines: readonly string[]): string[] {
  let end = lines.length;
  while (end > 1 && COMMENT_OR_BLANK.test((lines[end - 1] ?? '').replace(/\r?\n$/, ''))) end -= 1;
  const tail = lines.slice(end);
  const firstComment = tail.findIndex((line) => /^\s*[#;]/.test(line));
  return firstComment === -1 ? [] : tail.slice(firstComment);
}

export function awsConfigPath(env: Readonly<Record<string, string | undefined>>, homeDir: string, override?: string): string {
  const path = override || env.AWS_CONFIG_FILE || join(homeDir, '.aws', 'config');
  return path.startsWith('~/') ? join(homeDir, path.slice(2)) : path;
}

/**
 * The current file's text, or undefined when there is none yet. Read as latin1, which maps every
 * byte to one character and back, so bytes that are not UTF-8 also survive the merge unchanged
 * (tvm's own stanzas are ASCII).
 */
export async function readAwsConfig(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'latin1');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/**
 * Writes the new config: first a 0600 backup of the old file (`<file>.tvm-backup-<timestamp>`),
 * then the new text through a 0600 temp file renamed over the old one, so a crash never leaves half
 * a config. Returns the backup's path, if there was a file to back up.
 */
export async function writeAwsConfig(path: string, text: string, now: Date = new Date()): Promise<string | undefined> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const previous = await readFile(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  let backup: string | undefined;
  if (previous !== undefined) {
    backup = `${path}.tvm-backup-${now.toISOString().replace(/[-:]/g, '')}`;
    await writeNew(backup, previous);
  }
  const temp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await writeNew(temp, Buffer.from(text, 'latin1'));
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  return backup;
}

/** A new file, 0600 from its creation; fails rather than overwrite or follow a link. */
async function writeNew(path: string, bytes: Buffer): Promise<void> {
  const handle = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  try {
    await handle.writeFile(bytes);
    await handle.sync();
  } finally {
    await handle.close();
  }
}
