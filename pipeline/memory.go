package pipeline

import (
	"sync"

	"github.com/auditrelay/auditrelay/internal/rawjson"
)

// Memory lends a transform the memory it writes events' new bytes to, for
// one batch's trip through the chain of transforms and sinks. The runner
// gives every batch (every part of a batch cut for concurrency) its own
// Memory in Batch.Mem, and takes the memory back once the sinks' Consume
// returned: by the Consumer contract no sink holds on to an event's Raw past
// that, and the source keeps its own copy of the events, so the same blocks
// serve the next batch. A back-fill then writes its transformed events to
// the same few megabytes over and over instead of allocating a new copy of
// every event per transform, which the garbage collector would otherwise
// have to reclaim (about half of what a back-fill with enrich and redact
// allocated: 4.44 against 2.36 GB per 1M events, BENCHMARKS.md).
//
// A transform takes room with Get, appends to it, and hands the result to
// Keep before the next Get: the pattern of an arena. Bytes from a Memory
// must not outlive the batch: a transform must not keep them in a cache or
// anywhere else beyond its Process call. Memory is not safe for concurrent
// use. The zero Memory is ready; a nil *Memory allocates every slice on its
// own.
type Memory struct {
	arena  rawjson.Arena // carves the blocks
	blocks []*[]byte     // taken from memBlocks, returned by release
}

// memBlock is the size of the blocks a Memory carves; a larger request gets
// an allocation of its own, left to the garbage collector.
const memBlock = 32 << 10

// memBlocks holds the blocks of released Memories. A sync.Pool lets the
// garbage collector trim it after a burst; in a steady back-fill its blocks
// are taken again long before that.
var memBlocks = sync.Pool{New: func() any {
	b := make([]byte, memBlock)
	return &b
}}

// block hands m's arena a block for a request of n bytes.
func (m *Memory) block(n int) []byte {
	if n > memBlock {
		return make([]byte, 0, n)
	}
	p := memBlocks.Get().(*[]byte)
	m.blocks = append(m.blocks, p)
	return (*p)[:0]
}

// Get returns an empty slice with room for at least n bytes.
func (m *Memory) Get(n int) []byte {
	if m == nil {
		return make([]byte, 0, n)
	}
	if m.arena.Blocks == nil { // the zero Memory
		m.arena.Blocks = m.block
	}
	return m.arena.Get(n)
}

// Keep takes b, a slice from Get appended to, out of the free room and
// returns it with its capacity clipped, so that appending to it never writes
// into another slice. A b that outgrew its room was reallocated by append
// and is returned as it is.
func (m *Memory) Keep(b []byte) []byte {
	if m == nil {
		return b[:len(b):len(b)]
	}
	return m.arena.Keep(b)
}

// release returns m's blocks for other batches to use. Nothing may read or
// write the slices m handed out afterwards; in race-enabled builds (the
// tests) the blocks are overwritten first, so that a reader that kept one
// sees garbage rather than the right bytes by luck.
func (m *Memory) release() {
	for _, p := range m.blocks {
		if poisonReleased {
			b := (*p)[:cap(*p)]
			for i := range b {
				b[i] = poisonByte
			}
		}
		memBlocks.Put(p)
	}
	clear(m.blocks)
	// A new arena (its block was one of those), which still asks m for
	// blocks.
	*m = Memory{arena: rawjson.Arena{Blocks: m.arena.Blocks}, blocks: m.blocks[:0]}
}

// poisonByte is what released blocks are filled with under the race
// detector: a control character, which no JSON text may hold outside a
// string and no string may hold unescaped, so any reader of a kept slice
// meets invalid JSON.
const poisonByte = 0x01

// memories are the Memories lent for one Consume of the chain, and the
// copy of the batch's events the transforms change; the chain releases them
// all when the batch has been handed on.
// They are taken and released by the goroutine that runs the chain, before
// and after any parts run.
type memories struct {
	lent []*Memory
	evs  *[]Event
}

var eventSlices = sync.Pool{New: func() any { return new([]Event) }}

// events returns a copy of evs that lives until release.
func (ms *memories) events(evs []Event) []Event {
	p := eventSlices.Get().(*[]Event)
	if cap(*p) < len(evs) {
		*p = make([]Event, len(evs))
	}
	ms.evs = p
	out := (*p)[:len(evs):len(evs)]
	copy(out, evs)
	return out
}

var memoryPool = sync.Pool{New: func() any { return new(Memory) }}

// take lends a Memory for one batch or part.
func (ms *memories) take() *Memory {
	m := memoryPool.Get().(*Memory)
	ms.lent = append(ms.lent, m)
	return m
}

// release takes every lent Memory, and the events' copy, back.
func (ms *memories) release() {
	for _, m := range ms.lent {
		m.release()
		memoryPool.Put(m)
	}
	ms.lent = nil
	if ms.evs != nil {
		clear((*ms.evs)[:cap(*ms.evs)]) // hold on to nothing of the batch
		eventSlices.Put(ms.evs)
		ms.evs = nil
	}
}
