// Principal ids and group names as people read them. Two names that look the same must be the
// same name, and a name must not hide anything: NFC (a decomposed "é" is the composed one), and no
// Unicode format characters (category Cf: zero-width spaces and joiners, bidi overrides, the BOM),
// other characters drawn as nothing (default-ignorable: variation selectors, the combining grapheme
// joiner, Hangul fillers), spaces other than the ASCII one, or line/paragraph separators, which
// make one name look like another or like nothing at all.

const HIDDEN = /[\p{Cf}\p{Default_Ignorable_Code_Point}\u2028\u2029\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]/u;

/** True when `value` holds a character that changes how a name looks without being seen. */
export function hidesCharacters(value: string): boolean {
  return HIDDEN.test(value);
}

/** The one form an identifier is compared, stored and shown in. */
export function normalizeIdentifier(value: string): string {
  return value.normalize('NFC');
}
