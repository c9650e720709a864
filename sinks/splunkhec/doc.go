// Package splunkhec is the Splunk HTTP Event Collector sink (type
// "splunk_hec"): it posts batches of events to /services/collector/event
// with "Authorization: Splunk <token>", each event the original JSON under
// "event" with time, host, source, sourcetype, index and indexed fields,
// optionally gzip-compressed, and with indexer acknowledgement it counts a
// batch as delivered only once Splunk reports it indexed.
//
// HEC replies are classified for the runner: a busy or unhealthy server is
// retried (with its Retry-After), a refused token or a malformed request is
// permanent, and an event HEC refuses on its own goes to the dead-letter
// path. It does not retry by itself and keeps no queue.
//
// Package hectest holds an in-process HEC for tests. This package is not a
// Splunk search client.
package splunkhec
