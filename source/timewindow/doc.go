// Package timewindow plans the windows of a time-filtered, newest-first,
// cursor-paged API (OpenAI's audit logs, Anthropic's compliance activities)
// so that nothing is lost, nothing is delivered twice, memory is bounded,
// and a back-fill runs at the API's own speed limit.
//
// A window is [cursor - overlap, API now - settle): the overlap re-reads
// what became visible late, and the ids of the cursor (those within the
// overlap) drop what was delivered already. A back-fill is cut into
// stretches of time sized by the density of events and read concurrently,
// as many as the limiter of the key lets run, then committed in order. A
// stretch that fills a window is split at the second it reached, keeping
// every page read; a stretch that turns out denser than planned is cut, and
// free readers share the work of the longest ones at the end.
//
// It reads through a WalkFunc (the vendor's request and page shape) and
// emits pipeline.Windows; it knows no vendor and does no delivery.
package timewindow
