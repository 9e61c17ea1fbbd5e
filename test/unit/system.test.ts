// The system clock and id generator the functions run with.
import { randomIds } from '../../shared/adapters/system.js';

describe('randomIds', () => {
  it('gives distinct 22-character URL-safe ids, never starting with a dash (they are typed as CLI arguments)', () => {
    // Act: enough ids that a leading dash (1 in 64) would turn up many times over
    const ids = Array.from({ length: 5_000 }, () => randomIds.next());

    // Assess
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
  });
});
