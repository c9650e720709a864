package pipeline

import (
	"context"
	"fmt"
	"slices"
)

// WindowTransform is the optional interface of a transform whose output
// depends on the events before it in the stream, such as detect's
// thresholds and first-seen values. The engine hands it a whole window, in
// order, instead of batches in parallel, and tells it when the window is
// durable, so that the state it keeps moves with the cursor: a window
// replayed after a crash is processed from the state the last committed
// window left.
type WindowTransform interface {
	Transform
	// ProcessWindow is called instead of Process, once per attempt to
	// deliver a window, with every batch of the window in order (the
	// transforms before it already applied); it returns the batches to hand
	// on. It may add events (alerts), drop events, and change events as
	// Process may. It starts from the state of the last CommitWindow of
	// source, whatever attempts came between: an attempt the engine gave
	// up is forgotten. It blocks while it works and does not keep the
	// batches. Calls for different sources may run concurrently; the
	// engine makes at most one call per source at a time.
	ProcessWindow(ctx context.Context, source string, batches []Batch) ([]Batch, error)
	// CommitWindow makes durable the state the last ProcessWindow of
	// source derived: every sink has made that window durable and the
	// engine saves the window's cursor next. It blocks until the state is
	// written or ctx is done.
	CommitWindow(ctx context.Context, source string) error
}

// transformStages runs the transforms over a window's batches in their
// order: runs of plain transforms over the batches in parallel, a
// WindowTransform over the whole window. Events are finalized before a
// WindowTransform reads them and at the end.
func (e *engine) transformStages(ctx context.Context, source string, in []Batch) ([]Batch, error) {
	out, rest := in, e.transforms
	cloned := false // whether out's events are copies the transforms may change
	for len(rest) > 0 {
		wt, ok := rest[0].t.(WindowTransform)
		if !ok {
			n := slices.IndexFunc(rest, func(t namedTransform) bool { _, ok := t.t.(WindowTransform); return ok })
			if n < 0 {
				n = len(rest)
			}
			var err error
			if out, err = e.transformOnce(ctx, rest[:n], out); err != nil {
				return out, err
			}
			rest, cloned = rest[n:], true
			continue
		}
		n := 0
		batches := out
		if !cloned {
			// The source's events stay as they came: a retry starts there.
			batches = make([]Batch, len(out))
			for i, b := range out {
				batches[i] = Batch{Source: b.Source, Events: slices.Clone(b.Events)}
			}
			cloned = true
		}
		for _, b := range batches {
			n += len(b.Events)
		}
		res, err := wt.ProcessWindow(ctx, source, batches)
		if err != nil {
			return nil, fmt.Errorf("transform %q: %w", rest[0].name, err)
		}
		m := 0
		for _, b := range res {
			m += len(b.Events)
			if err := finalize(b.Events); err != nil {
				return nil, err
			}
		}
		if n > m {
			e.tel.EventsFiltered(rest[0].name, n-m)
		}
		out, rest = res, rest[1:]
	}
	return out, nil
}

// commitTransforms tells every WindowTransform that the window of source
// is durable in every sink, before its cursor is saved.
func (e *engine) commitTransforms(ctx context.Context, source string) error {
	for _, t := range e.transforms {
		if wt, ok := t.t.(WindowTransform); ok {
			if err := wt.CommitWindow(ctx, source); err != nil {
				return fmt.Errorf("transform %q: committing its state: %w", t.name, err)
			}
		}
	}
	return nil
}

// StateDirer is the optional interface of a checkpoint store's Config
// that keeps its cursors in a directory: a component that keeps state
// which must move with the cursors (detect) keeps it beside them. An empty
// StateDir means the store keeps nothing across restarts (memory).
type StateDirer interface {
	StateDir() string
}
