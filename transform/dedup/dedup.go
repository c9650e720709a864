package dedup

import (
	"container/list"
	"context"
	"sync"
	"time"

	"github.com/auditrelay/auditrelay/pipeline"
)

// Dedup is the dedup transform. It is safe for concurrent use.
type Dedup struct {
	max int
	ttl time.Duration
	now func() time.Time

	mu    sync.Mutex
	seen  map[string]*list.Element // id -> element of order
	order list.List                // *entry, oldest first
}

type entry struct {
	id, source string
	at         time.Time
}

var _ pipeline.Transform = (*Dedup)(nil)

// New returns a dedup transform for a validated config; now is its clock.
func New(c *Config, now func() time.Time) *Dedup {
	return &Dedup{max: c.MaxEntries, ttl: c.TTL, now: now, seen: map[string]*list.Element{}}
}

// Start implements pipeline.Component; it does nothing.
func (*Dedup) Start(context.Context) error { return nil }

// Shutdown implements pipeline.Component; it forgets every id.
func (d *Dedup) Shutdown(context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.seen = map[string]*list.Element{}
	d.order.Init()
	return nil
}

// Len returns the number of ids remembered.
func (d *Dedup) Len() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.seen)
}

// Process drops events whose id another source already passed (see the
// package doc), and copies within b after the first. It holds a mutex for
// the duration of the batch, does not block otherwise, and ignores ctx.
// Events without an id always pass.
func (d *Dedup) Process(_ context.Context, b pipeline.Batch) (pipeline.Batch, error) {
	now := d.now()
	d.mu.Lock()
	defer d.mu.Unlock()
	d.expire(now)
	kept := b.Events[:0]
	var inBatch map[string]struct{}
	for i := range b.Events {
		e := &b.Events[i]
		if e.ID == "" {
			kept = append(kept, *e)
			continue
		}
		if _, dup := inBatch[e.ID]; dup {
			continue
		}
		if el, ok := d.seen[e.ID]; ok {
			if el.Value.(*entry).source != b.Source {
				continue
			}
		} else {
			d.seen[e.ID] = d.order.PushBack(&entry{id: e.ID, source: b.Source, at: now})
			if len(d.seen) > d.max {
				d.remove(d.order.Front())
			}
		}
		if inBatch == nil {
			inBatch = make(map[string]struct{}, len(b.Events))
		}
		inBatch[e.ID] = struct{}{}
		kept = append(kept, *e)
	}
	clear(b.Events[len(kept):])
	b.Events = kept
	return b, nil
}

func (d *Dedup) expire(now time.Time) {
	for el := d.order.Front(); el != nil; el = d.order.Front() {
		if now.Sub(el.Value.(*entry).at) < d.ttl {
			return
		}
		d.remove(el)
	}
}

func (d *Dedup) remove(el *list.Element) {
	delete(d.seen, el.Value.(*entry).id)
	d.order.Remove(el)
}
