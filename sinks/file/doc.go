// Package file is the file sink (type "file"): events as JSON lines, one
// event object per line exactly as delivered, appended to a file or written
// to standard output. With fsync (the default) a batch is acknowledged only
// after the file is synced to disk. It is not a log rotator: rotate with
// logrotate's copytruncate or point the sink at a new path.
package file
