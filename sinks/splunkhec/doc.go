// Package splunkhec is the Splunk HTTP Event Collector sink (type
// "splunk_hec"): it posts batches of events to /services/collector/event
// with "Authorization: Splunk <token>", each event the original JSON under
// "event" with time, host, source, sourcetype, index and indexed fields,
// optionally gzip-compressed, and with indexer acknowledgement it counts a
// batch as delivered only once Splunk reports it indexed.
//
// Requests are cut, compressed, sent and their answers classified by
// package httpbatch, as for every HTTP sink: a busy or unhealthy server is
// retried (with its Retry-After), a refused token or a malformed request is
// permanent; this package reads HEC's JSON replies, so that an event HEC
// refuses on its own goes to the dead-letter path. It does not retry by
// itself and keeps no queue.
//
// Package hectest holds an in-process HEC for tests. This package is not a
// Splunk search client.
package splunkhec
