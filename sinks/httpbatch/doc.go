// Package httpbatch is what the HTTP sinks (splunkhec, datadog, webhook)
// share: a client that follows no redirect, the cutting of a batch's
// events into requests by count and by bytes, gzip, the classification of
// the answers, the halving of a request refused with 413, and the checks
// of the config keys behind them.
//
// A sink encodes its events (Item.Data) and configures a Sender with its
// URL, headers, limits and the framing of a body; Send posts the events in
// requests one after the other and returns the events the destination
// refused for their content (pipeline.Rejection). Answers mean the same for
// every sink: 2xx is taken; 408, 429 and 5xx are retryable, with the
// server's Retry-After as a pipeline.RetryAfter delay; a redirect and any
// other status are permanent, with the status and the start of the body. A
// sink reads what its destination's own body says (a refused token, one
// refused event of a request) in Sender.Check.
//
// It does not retry (the engine's RetryPolicy does, once per hop), keeps no
// queue and knows no vendor's format.
package httpbatch
