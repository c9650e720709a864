package file

import "io"

type chunk struct {
	b   []byte
	err error
}

// asyncReader reads a stream (stdin) in a goroutine so that the source can
// stop while the stream has nothing to say, and can tell whether the next
// read would block (then it hands on what it holds instead of waiting).
// The goroutine ends when the stream ends or errs, or, once done is
// closed, after its current Read returns: a Read blocked on a stream that
// never closes keeps it alive until the process exits.
type asyncReader struct {
	ch   chan chunk
	done <-chan struct{}
	cur  []byte
	err  error
}

func newAsyncReader(r io.Reader, done <-chan struct{}) *asyncReader {
	a := &asyncReader{ch: make(chan chunk, 1), done: done}
	go func() {
		for {
			buf := make([]byte, 64<<10)
			n, err := r.Read(buf)
			select {
			case a.ch <- chunk{buf[:n], err}:
			case <-done:
				return
			}
			if err != nil {
				return
			}
		}
	}()
	return a
}

// errStopped is returned by Read once done is closed.
var errStopped = io.ErrClosedPipe

// Read implements io.Reader. It is not safe for concurrent use.
func (a *asyncReader) Read(p []byte) (int, error) {
	for len(a.cur) == 0 {
		if a.err != nil {
			return 0, a.err
		}
		select {
		case c := <-a.ch:
			a.cur, a.err = c.b, c.err
		case <-a.done:
			return 0, errStopped
		}
	}
	n := copy(p, a.cur)
	a.cur = a.cur[n:]
	return n, nil
}

// ready reports whether Read would return without waiting.
func (a *asyncReader) ready() bool { return len(a.cur) > 0 || a.err != nil || len(a.ch) > 0 }
