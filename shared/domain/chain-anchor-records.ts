// What an anchor of the audit chains holds, as stored in S3 and read back: a module of its own, so
// the ports that store and read anchors and the use case that makes them both depend on it.
import { z } from 'zod';

// In IIFEs, so the bundles that only share a module with these (the vend function's) drop them.
export const anchoredHeadSchema = /* @__PURE__ */ (() =>
  z
    .object({
      /** `<day>#<shard label>`, as the audit table names the chain (`<day>#x<shard label>` chain-keyed). */
      chain: z.string().regex(/^\d{4}-\d\d-\d\d#x?u?\d+$/),
      seq: z.number().int().min(1),
      /** sha256, in its chain's encoding: base64url in a chain-keyed chain, hex in a legacy one. */
      hash: z.string(),
      /** The event at `seq`, so the next anchoring can check that it still stands where it stood. */
      eventId: z.string().min(1).optional(),
      /**
       * A head held back (chain-anchors.ts): when an anchoring last took it. Events past it were
       * written after then. A head taken now has none: the anchor's `at` is when it was read.
       */
      at: z.string().datetime().optional(),
    })
    .strict()
    .refine((head) => (head.chain.includes('#x') ? /^[\w-]{43}$/ : /^[0-9a-f]{64}$/).test(head.hash), {
      message: "not a sha256 in its chain's encoding",
      path: ['hash'],
    }))();

export const chainAnchorSchema = /* @__PURE__ */ (() =>
  z
    .object({
      /** The UTC day whose chains it anchors. */
      day: z.string().regex(/^\d{4}-\d\d-\d\d$/),
      /** When the heads were read. */
      at: z.string().datetime(),
      heads: z.array(anchoredHeadSchema),
      /**
       * The events-set chains it found empty, so an event dated back into what it covers shows
       * (anchors saved before they listed them have none); `at` as on a head held back.
       */
      empty: z
        .array(z.object({ chain: z.string().regex(/^\d{4}-\d\d-\d\d#x?\d+$/), at: z.string().datetime().optional() }).strict())
        .optional(),
    })
    .strict())();

export type AnchoredHead = z.infer<typeof anchoredHeadSchema>;
export type ChainAnchor = z.infer<typeof chainAnchorSchema>;
