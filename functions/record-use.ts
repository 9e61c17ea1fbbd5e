import { recordUseDeps } from '../shared/composition.js';
import { makeRecordUseHandler } from '../shared/events/record-use.js';

export const handler = makeRecordUseHandler(recordUseDeps());
