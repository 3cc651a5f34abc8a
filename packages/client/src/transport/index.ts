export { type ConsulOptions, type TlsOptions, DEFAULT_ADDRESS, DEFAULT_TIMEOUT_MS, DEFAULT_MAX_RESPONSE_SIZE, DEFAULT_KEEP_ALIVE_TIMEOUT_MS, MAX_TIMEOUT_MS } from './config.js';
export { type RetryPolicy, type RequestSafety, isRetryable, backoffDelay } from './retry.js';
export {
  type Breaker,
  type BreakerFactory,
  type BreakerKind,
  type BreakerPolicy,
  type BreakerState,
  type BreakerStates,
  opossumBreakerFactory,
  countsAsFailure,
} from './breaker.js';
export { type RateLimit, TokenBucket } from './rate-limit.js';
export { parseJson, type JsonValue } from './json.js';
export { type ClientMetrics, StatsdMetrics, NO_METRICS } from '../metrics.js';
