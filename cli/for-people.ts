// The API explains itself in its own terms (`body.validUntil`, `see GET /lockdown`); a person at the
// CLI typed flags and commands. This rewrites the API's words into the CLI's, in messages only.

/** API fields whose flag is not the field's name in kebab case. */
const FLAGS: Readonly<Record<string, string>> = {
  durationSeconds: '--duration',
  subject: '--user or --group',
  scope: '--action / --resource',
  actions: '--action',
  resources: '--resource',
  contractors: '--contractor',
  profiles: '--profile',
};

/** Routes a message may point to, as the command that shows the same. */
const COMMANDS: ReadonlyArray<readonly [RegExp, string]> = [
  [/\bGET \/lockdown\b/g, 'tvm lockdown status'],
  [/\bcreatedBy=me\b/g, 'tvm grants list --mine'],
  [/\bGET \/me\b/g, 'tvm me'],
  [/\bGET \/audit\/events\b/g, 'tvm audit events'],
  [/\bGET \/alerts\b/g, 'tvm alerts'],
  [/\bGET \/requests\b/g, 'tvm requests'],
  [/\bPOST \/grants\b/g, 'tvm grants create'],
  [/\bDELETE \/grants\/\{id\}/g, 'tvm grants revoke'],
  [/\bPUT \/profiles\/\{name\}/g, 'tvm profiles put'],
];

const kebab = (name: string) => name.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);

/** `message` with API field paths as flags and routes as commands. */
export function forPeople(message: string): string {
  let text = message.replace(/\b(?:body|query)\.([A-Za-z]+(?:\.[A-Za-z0-9]+)*)/g, (_path, path: string) => {
    const named = path.split('.').filter((segment) => !/^\d+$/.test(segment));
    // A scope's fields have flags of their own; every other field is named by its first segment.
    const field = (named[0] === 'scope' && named[1]) || (named[0] as string);
    return FLAGS[field] ?? `--${kebab(field)}`;
  });
  for (const [route, command] of COMMANDS) text = text.replace(route, command);
  return text;
}

/**
 * The names closest to `name` (at most two edits away, or sharing its start), best first: what a
 * typo most likely meant.
 */
export function closest(name: string, candidates: readonly string[], max = 3): string[] {
  const scored = [...new Set(candidates)]
    .map((candidate) => ({ candidate, distance: editDistance(name.toLowerCase(), candidate.toLowerCase()) }))
    .filter(({ candidate, distance }) => distance <= 2 || candidate.toLowerCase().startsWith(name.toLowerCase()))
    .sort((a, b) => a.distance - b.distance || a.candidate.localeCompare(b.candidate));
  return scored.slice(0, max).map(({ candidate }) => candidate);
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min((previous[j] as number) + 1, (current[j - 1] as number) + 1, (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length] as number;
}
