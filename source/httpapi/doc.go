// Package httpapi holds what every HTTP API source shares: the retrying
// client, the adaptive request limiter (one per API key: it finds the API's
// own rate and concurrency limit from latency, 429s and rate-limit headers,
// with no tuning), the page walker with its guards, and the API's clock.
package httpapi
