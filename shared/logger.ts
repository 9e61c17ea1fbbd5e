// The one logger. Structured JSON with the request id appended per request; data goes in the
// second argument. Never pass it a credential, a session token or a JWT.
import { Logger } from '@aws-lambda-powertools/logger';

export const logger = new Logger({ serviceName: 'tvm' });
