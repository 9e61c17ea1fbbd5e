// How anchors are named, in S3 and in the local directory alike: one object per anchoring of a day,
// under the day, named so that the newest sorts first (S3 lists keys in ascending order, so the
// latest anchor is the first key listed), and read back through the schema.
import { chainAnchorSchema, type ChainAnchor } from '../domain/chain-anchor-records.js';

/** Milliseconds of 2286-11-20: anchors are named by the time left until then. */
const LAST_TIME_MS = 9_999_999_999_999;
const DAY = /^\d{4}-\d\d-\d\d$/;

/** `<day>/<ms until LAST_TIME, 13 digits>-<at>.json`. */
export function anchorName(anchor: ChainAnchor): string {
  const left = String(LAST_TIME_MS - Date.parse(anchor.at)).padStart(13, '0');
  return `${anchorDay(anchor.day)}/${left}-${anchor.at.replace(/[:.]/g, '')}.json`;
}

/** The day, checked to be one: it becomes part of a key and a path. */
export function anchorDay(day: string): string {
  if (!DAY.test(day)) throw new RangeError(`not a UTC day: ${JSON.stringify(day)}`);
  return day;
}

/** An anchor as stored, checked: its shape, and that it anchors the day it is filed under. */
export function parseAnchor(text: string, day: string): ChainAnchor {
  const anchor = chainAnchorSchema.parse(JSON.parse(text));
  if (anchor.day !== day) throw new RangeError(`an anchor of ${anchor.day} is filed under ${day}`);
  return anchor;
}
