import { ingestTrailDeps } from '../shared/composition.js';
import { makeIngestTrailLogsHandler } from '../shared/events/ingest-trail-logs.js';

export const handler = makeIngestTrailLogsHandler(ingestTrailDeps());
