package pipeline_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/auditrelay/auditrelay/pipeline"
)

// tag is a transform that writes every event anew through the batch's
// lent memory, the way enrich and redact do: it appends a "tag" member
// naming the event. It refuses a batch that came without memory.
type tag struct{ lifecycle }

func (tag) Process(_ context.Context, b pipeline.Batch) (pipeline.Batch, error) {
	if b.Mem == nil {
		return b, errors.New("tag: the runner lent no memory")
	}
	for i := range b.Events {
		ev := &b.Events[i]
		raw := bytes.TrimSuffix(ev.Raw, []byte("}"))
		extra := fmt.Sprintf(`,"tag":"t%s"}`, ev.ID)
		dst := b.Mem.Get(len(raw) + len(extra))
		ev.SetRaw(b.Mem.Keep(append(append(dst, raw...), extra...)))
	}
	return b, nil
}

// keeper is a sink that breaks the Consumer contract on purpose: it keeps
// the events' Raw slices without copying them, next to a copy made while
// Consume ran.
type keeper struct {
	kept, copies [][]byte
	reject       bool
}

func (*keeper) Start(context.Context) error    { return nil }
func (*keeper) Shutdown(context.Context) error { return nil }

func (k *keeper) Consume(_ context.Context, b pipeline.Batch) error {
	if b.Mem != nil {
		return errors.New("keeper: the sink was handed the transforms' memory")
	}
	for _, ev := range b.Events {
		k.kept = append(k.kept, ev.Raw)
		k.copies = append(k.copies, bytes.Clone(ev.Raw))
	}
	if k.reject {
		return &pipeline.RejectedError{Sink: "keeper", Rejected: []pipeline.Rejection{{Event: b.Events[0], Reason: "refused"}}}
	}
	return nil
}

func keeperPipeline(t *testing.T, k *keeper, transforms ...string) pipeline.Consumer {
	t.Helper()
	w := newWorld()
	w.keeper = k
	sp := spec(nil, transforms...)
	sp.Sinks = []pipeline.ComponentSpec{{Name: "k", Type: "keeper", Config: cfg{}, Retry: pipeline.RetryPolicy{InitialInterval: 1, MaxInterval: 1, Multiplier: 1}}}
	p, err := pipeline.Build(w.registry(t), sp, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return p.Head()
}

func batchOf(n int) pipeline.Batch {
	b := pipeline.Batch{Source: "acme", WindowStart: true, WindowEnd: true}
	for i := range n {
		b.Events = append(b.Events, pipeline.Event{ID: fmt.Sprint(i), Raw: fmt.Appendf(nil, `{"n":%d}`, i)})
	}
	return b
}

// TestLentMemoryIsTakenBack: the transforms write to memory the chain
// lends each batch (each part of a large one), the sinks see the right
// bytes, and once Consume returned the memory is taken back: under the
// race detector (make test) the blocks are overwritten then, which a sink
// that kept the slices against the contract would see.
func TestLentMemoryIsTakenBack(t *testing.T) {
	for _, n := range []int{3, 1500} { // 1500: transformed in parts
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			k := &keeper{}
			head := keeperPipeline(t, k, "tag1", "tag2")
			if err := head.Consume(context.Background(), batchOf(n)); err != nil {
				t.Fatal(err)
			}
			if len(k.copies) != n {
				t.Fatalf("sink got %d events", len(k.copies))
			}
			for i, c := range k.copies {
				if want := fmt.Sprintf(`{"n":%d,"tag":"t%d","tag":"t%d"}`, i, i, i); string(c) != want {
					t.Fatalf("event %d: %s, want %s", i, c, want)
				}
			}
			if !pipeline.PoisonReleased {
				return // the blocks may be reused at any time, but are not overwritten
			}
			for i, kept := range k.kept {
				if bytes.Equal(kept, k.copies[i]) || !bytes.Contains(kept, []byte{0x01}) {
					t.Fatalf("event %d still reads %q after Consume returned: the memory was not taken back", i, kept)
				}
			}
		})
	}
}

// TestRejectedErrorOwnsItsEvents: a RejectedError outlives the Consume
// that returned it, so the events it names must not point into memory the
// chain took back.
func TestRejectedErrorOwnsItsEvents(t *testing.T) {
	k := &keeper{reject: true}
	head := keeperPipeline(t, k, "tag")
	err := head.Consume(context.Background(), batchOf(1))
	var rej *pipeline.RejectedError
	if !errors.As(err, &rej) {
		t.Fatalf("err = %v, want a RejectedError", err)
	}
	if got, want := string(rej.Rejected[0].Event.Raw), `{"n":0,"tag":"t0"}`; got != want {
		t.Fatalf("rejected event reads %q after Consume returned, want %q", got, want)
	}
	if pipeline.PoisonReleased && !bytes.Contains(k.kept[0], []byte{0x01}) {
		t.Fatal("the memory was not taken back, so this test proves nothing")
	}
}

// TestMemoryGetKeep: slices carved from a Memory hold what was appended to
// them and never overlap, whatever their sizes.
func TestMemoryGetKeep(t *testing.T) {
	for _, m := range []*pipeline.Memory{nil, new(pipeline.Memory)} {
		var got [][]byte
		var want []string
		for i, n := range []int{8, 30000, 5000, 1, 40000, 0, 20} {
			b := m.Get(n)
			if cap(b) < n || len(b) != 0 {
				t.Fatalf("Get(%d): len %d cap %d", n, len(b), cap(b))
			}
			s := strings.Repeat(string(rune('a'+i)), n+i%2) // one more than asked: the room may be outgrown
			b = m.Keep(append(b, s...))
			if cap(b) != len(b) {
				t.Fatalf("Keep left capacity %d past %d", cap(b), len(b))
			}
			got, want = append(got, b), append(want, s)
		}
		for i := range got {
			if string(got[i]) != want[i] {
				t.Fatalf("slice %d changed: %.20q..., want %.20q...", i, got[i], want[i])
			}
		}
	}
}
