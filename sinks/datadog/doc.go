// Package datadog is the Datadog logs sink (type "datadog"): it posts
// batches to the logs intake API v2 (POST /api/v2/logs on the intake host
// of the configured site, DD-API-KEY header), each entry carrying
// ddsource, ddtags, hostname, service, the event time and the event's JSON
// as its message (Datadog parses JSON messages into attributes). Requests
// stay within the intake's limits (1,000 entries, 5 MB uncompressed per
// request); an entry over 1 MB, which Datadog would truncate, goes to the
// dead-letter path instead.
//
// Requests are cut, compressed, sent and their answers classified by
// package httpbatch, as for every HTTP sink (413 halves a request; without
// Retry-After, X-RateLimit-Reset is the delay of a retry). Package ddtest
// holds an in-process intake for tests. This package does not send metrics
// or use the Datadog Agent.
package datadog
