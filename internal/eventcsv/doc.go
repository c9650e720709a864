// Package eventcsv writes pipeline events as CSV rows with stable,
// documented columns per schema (docs/cli.md): nested fields flattened with
// dotted names, objects and arrays as compact JSON, one record per event
// (fields holding line breaks are quoted as RFC 4180 requires), and cells
// that a spreadsheet would run as a formula defused with a leading
// apostrophe.
//
// It is for exports people open in spreadsheets and BI tools. It is not a
// general JSON-to-CSV converter: columns are fixed so that a file's header
// never depends on the data.
package eventcsv
