// The running stack serves the committed OpenAPI document at GET /openapi.json, to anyone. (That
// every other answer of the e2e suite conforms to it is checked by api() itself: support/api.ts.)
import { api } from './support/api.js';
import { committedDocument } from '../fixtures/openapi-conformance.js';

describe('GET /openapi.json', () => {
  it('serves docs/openapi.json without a token, never cached', async () => {
    // Act
    const response = await api('GET', '/openapi.json');

    // Assess
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(response.body).toEqual(committedDocument());
  });
});
