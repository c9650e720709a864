package pipeline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"time"
)

// ComponentSpec is one configured component, its config already decoded
// and validated.
type ComponentSpec struct {
	Name   string
	Type   string
	Config Config
	// Retry applies to sinks only.
	Retry RetryPolicy
}

// Spec describes a whole pipeline.
type Spec struct {
	Sources    []ComponentSpec
	Transforms []ComponentSpec
	Sinks      []ComponentSpec
	// DeadLetter, when set, receives events a sink rejected permanently.
	DeadLetter *ComponentSpec
	Checkpoint ComponentSpec
	// BaseDir is the directory relative paths are resolved against.
	BaseDir string
	// DrainTimeout bounds the shutdown drain (default 30s).
	DrainTimeout time.Duration
}

type namedSource struct {
	name string
	src  Source
}

type namedTransform struct {
	name string
	t    Transform
}

type namedSink struct {
	name string
	sink Sink
}

// Pipeline is a built, not yet started, set of components.
type Pipeline struct {
	log          *slog.Logger
	tel          Telemetry
	store        CheckpointStore
	sources      []namedSource
	transforms   []namedTransform
	sinks        []namedSink
	deadLetter   *namedSink
	head         Consumer
	drainTimeout time.Duration
}

// Build creates every component of spec through the factories of reg.
// Nothing is started.
func Build(reg *Registry, spec Spec, log *slog.Logger, tel Telemetry) (*Pipeline, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if tel == nil {
		tel = NopTelemetry{}
	}
	p := &Pipeline{log: log, tel: tel, drainTimeout: spec.DrainTimeout}
	if p.drainTimeout <= 0 {
		p.drainTimeout = 30 * time.Second
	}
	settings := func(k Kind, c ComponentSpec) Settings {
		return Settings{Name: c.Name, Type: c.Type, BaseDir: spec.BaseDir, Telemetry: tel,
			Logger: log.With(k.String(), c.Name)}
	}
	lookup := func(k Kind, c ComponentSpec) (Factory, error) {
		f, ok := reg.Factory(k, c.Type)
		if !ok {
			return nil, fmt.Errorf("%s %q: unknown type %q", k, c.Name, c.Type)
		}
		return f, nil
	}
	if len(spec.Sources) == 0 {
		return nil, errors.New("no sources configured")
	}
	if len(spec.Sinks) == 0 {
		return nil, errors.New("no sinks configured")
	}

	var dlq Consumer
	if spec.DeadLetter != nil {
		f, err := lookup(KindSink, *spec.DeadLetter)
		if err != nil {
			return nil, err
		}
		s, err := f.(SinkFactory).CreateSink(settings(KindSink, *spec.DeadLetter), spec.DeadLetter.Config)
		if err != nil {
			return nil, fmt.Errorf("dead_letter: %w", err)
		}
		p.deadLetter = &namedSink{spec.DeadLetter.Name, s}
		dlq = &retryingSink{name: spec.DeadLetter.Name, sink: s, policy: spec.DeadLetter.Retry, tel: tel, log: log}
	}
	sinkMap := map[string]Sink{}
	var wrapped []Consumer
	for _, c := range spec.Sinks {
		f, err := lookup(KindSink, c)
		if err != nil {
			return nil, err
		}
		s, err := f.(SinkFactory).CreateSink(settings(KindSink, c), c.Config)
		if err != nil {
			return nil, fmt.Errorf("sink %q: %w", c.Name, err)
		}
		p.sinks = append(p.sinks, namedSink{c.Name, s})
		sinkMap[c.Name] = s
		wrapped = append(wrapped, &retryingSink{name: c.Name, sink: s, policy: c.Retry, deadLetter: dlq, tel: tel, log: log})
	}
	for _, c := range spec.Transforms {
		f, err := lookup(KindTransform, c)
		if err != nil {
			return nil, err
		}
		t, err := f.(TransformFactory).CreateTransform(settings(KindTransform, c), c.Config)
		if err != nil {
			return nil, fmt.Errorf("transform %q: %w", c.Name, err)
		}
		p.transforms = append(p.transforms, namedTransform{c.Name, t})
	}
	f, err := lookup(KindStore, spec.Checkpoint)
	if err != nil {
		return nil, err
	}
	p.store, err = f.(StoreFactory).CreateStore(settings(KindStore, spec.Checkpoint), spec.Checkpoint.Config, StoreHost{Sinks: sinkMap})
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	for _, c := range spec.Sources {
		f, err := lookup(KindSource, c)
		if err != nil {
			return nil, err
		}
		s, err := f.(SourceFactory).CreateSource(settings(KindSource, c), c.Config)
		if err != nil {
			return nil, fmt.Errorf("source %q: %w", c.Name, err)
		}
		p.sources = append(p.sources, namedSource{c.Name, s})
	}
	p.head = &chain{transforms: p.transforms, stages: stagesOf(p.transforms), next: FanOut(wrapped...), tel: tel, parallel: runtime.GOMAXPROCS(0)}
	return p, nil
}

// chain runs the transforms in order, then encodes changed events and hands
// the batch to the fan-out.
type chain struct {
	transforms []namedTransform
	stages     []stage // the transforms, grouped by how a batch may be cut
	next       Consumer
	tel        Telemetry
	delivered  func(Batch)
	parallel   int // parts a large batch is transformed in (GOMAXPROCS)
}

func (c *chain) Consume(ctx context.Context, b Batch) error {
	if len(c.transforms) > 0 {
		// Transforms change events in place; the source keeps its own
		// copy so that a retried window is transformed afresh. The new
		// bytes they write live in memory lent for this call, taken back
		// once the sinks have returned.
		var mem memories
		defer mem.release()
		b.Events = mem.events(b.Events)
		b.Mem = mem.take() // parts cut for the cores take their own
		var err error
		if b, err = c.transform(ctx, b, &mem); err != nil {
			return err
		}
		b.Mem = nil
	} else if err := finalize(b.Events, nil); err != nil {
		return err
	}
	if err := c.next.Consume(ctx, b); err != nil {
		detachRejected(err)
		return err
	}
	if c.delivered != nil {
		c.delivered(b)
	}
	return nil
}

// detachRejected copies the bytes of the events a RejectedError in err's
// chain carries: they may live in memory the chain takes back when Consume
// returns, and the error outlives it.
func detachRejected(err error) {
	var rej *RejectedError
	if !errors.As(err, &rej) {
		return
	}
	for i := range rej.Rejected {
		rej.Rejected[i].Event.Raw = bytes.Clone(rej.Rejected[i].Event.Raw)
	}
}

// stage is a run of transforms that may each get a part of a large batch,
// or one WholeBatchTransform, which gets the whole batch.
type stage struct {
	transforms []namedTransform
	whole      bool
}

func stagesOf(ts []namedTransform) []stage {
	var out []stage
	for _, t := range ts {
		_, whole := t.t.(WholeBatchTransform)
		if n := len(out); whole || n == 0 || out[n-1].whole {
			out = append(out, stage{whole: whole})
		}
		out[len(out)-1].transforms = append(out[len(out)-1].transforms, t)
	}
	return out
}

// transform runs the stages over b, then encodes the events transforms
// changed as objects (in parts, with the last stage when it may be cut).
func (c *chain) transform(ctx context.Context, b Batch, mem *memories) (Batch, error) {
	var err error
	for i, st := range c.stages {
		last := i == len(c.stages)-1
		if st.whole {
			if b, err = c.run(ctx, b, st.transforms); err != nil {
				return b, err
			}
			if last {
				return c.inParts(ctx, b, nil, true, mem)
			}
			continue
		}
		if b, err = c.inParts(ctx, b, st.transforms, last, mem); err != nil {
			return b, err
		}
	}
	return b, nil
}

// parallelChunk is the smallest part of a batch that is transformed on a
// core of its own.
const parallelChunk = 256

// inParts runs ts over b (and finalize when fin is set). A large batch is
// cut into parts transformed concurrently (transforms are safe for
// concurrent use with different batches, and these do not look across
// events), then joined in order: the delivery of a window is otherwise one
// goroutine, and the transforms would use one core while the others wait.
func (c *chain) inParts(ctx context.Context, b Batch, ts []namedTransform, fin bool, mem *memories) (Batch, error) {
	part := func(b Batch) (Batch, error) {
		b, err := c.run(ctx, b, ts)
		if err == nil && fin {
			err = finalize(b.Events, b.Mem)
		}
		return b, err
	}
	parts := min(c.parallel, len(b.Events)/parallelChunk)
	if parts <= 1 {
		return part(b)
	}
	size := (len(b.Events) + parts - 1) / parts
	results := make([]Batch, parts)
	errs := make([]error, parts)
	var wg sync.WaitGroup
	for i := range parts {
		lo, hi := i*size, min((i+1)*size, len(b.Events))
		// The capacity is clipped so that no part can grow into the next.
		sub := Batch{Source: b.Source, Events: b.Events[lo:hi:hi],
			WindowStart: b.WindowStart && i == 0, WindowEnd: b.WindowEnd && i == parts-1,
			Mem: mem.take()} // a Memory is not safe for concurrent use
		wg.Go(func() { results[i], errs[i] = part(sub) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return b, err
	}
	// Parts that kept their events in place (no transform dropped or
	// replaced the slice) are already where the joined batch wants them.
	inPlace := true
	n := 0
	for i, r := range results {
		n += len(r.Events)
		lo, hi := i*size, min((i+1)*size, len(b.Events))
		inPlace = inPlace && len(r.Events) == hi-lo && (hi == lo || &r.Events[0] == &b.Events[lo])
	}
	if inPlace {
		return b, nil
	}
	evs := make([]Event, 0, n)
	for _, r := range results {
		evs = append(evs, r.Events...)
	}
	b.Events = evs
	return b, nil
}

// run runs ts over b in order.
func (c *chain) run(ctx context.Context, b Batch, ts []namedTransform) (Batch, error) {
	for _, t := range ts {
		n := len(b.Events)
		var err error
		b, err = t.t.Process(ctx, b)
		if err != nil {
			return b, fmt.Errorf("transform %q: %w", t.name, err)
		}
		if d := n - len(b.Events); d > 0 {
			c.tel.EventsFiltered(t.name, d)
		}
	}
	return b, nil
}

// finalize encodes the events a transform changed as objects, to m (nil:
// new allocations).
func finalize(evs []Event, m *Memory) error {
	for i := range evs {
		if err := evs[i].finalize(m); err != nil {
			return Permanent(fmt.Errorf("encoding event %s: %w", evs[i].ID, err))
		}
	}
	return nil
}

// FanOut returns a consumer that hands each batch to every consumer
// concurrently and succeeds only when all of them succeeded.
func FanOut(cs ...Consumer) Consumer {
	if len(cs) == 1 {
		return cs[0]
	}
	return fanOut(cs)
}

type fanOut []Consumer

func (f fanOut) Consume(ctx context.Context, b Batch) error {
	errs := make([]error, len(f))
	var wg sync.WaitGroup
	for i, c := range f {
		wg.Go(func() { errs[i] = c.Consume(ctx, b) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// RunOptions modify how Run behaves.
type RunOptions struct {
	// Once makes every source catch up and return, then Run returns.
	Once bool
}

// Run starts the sinks (dead-letter first), the transforms, the store and
// the sources, runs the sources until ctx is done (or, with Once, until they
// caught up), then shuts everything down upstream first so that each stage
// drains into a live consumer. A failing source does not stop the others
// (see runSource). It returns the sources' errors joined: with Once every
// failure, otherwise only those of sources that failed as ctx ended.
func (p *Pipeline) Run(ctx context.Context, opts RunOptions) (err error) {
	var started []Component
	defer func() {
		// Shutdown is not bounded by ctx (which is done by now): it gets
		// its own deadline so that files are flushed and transactions closed.
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.drainTimeout)
		defer cancel()
		for i := len(started) - 1; i >= 0; i-- {
			if e := started[i].Shutdown(sctx); e != nil {
				err = errors.Join(err, fmt.Errorf("shutdown: %w", e))
			}
		}
	}()
	start := func(what string, c Component) error {
		if err := c.Start(ctx); err != nil {
			return fmt.Errorf("starting %s: %w", what, err)
		}
		started = append(started, c)
		return nil
	}
	if p.deadLetter != nil {
		if err := start("dead_letter sink "+p.deadLetter.name, p.deadLetter.sink); err != nil {
			return err
		}
	}
	for _, s := range p.sinks {
		if err := start(fmt.Sprintf("sink %q", s.name), s.sink); err != nil {
			return err
		}
	}
	for _, t := range p.transforms {
		if err := start(fmt.Sprintf("transform %q", t.name), t.t); err != nil {
			return err
		}
	}
	if err := start("checkpoint store", p.store); err != nil {
		return err
	}
	for _, s := range p.sources {
		if err := start(fmt.Sprintf("source %q", s.name), s.src); err != nil {
			return err
		}
	}

	if obs, ok := p.tel.(RunObserver); ok {
		obs.Running()
	}
	errs := make([]error, len(p.sources))
	var wg sync.WaitGroup
	for i, s := range p.sources {
		wg.Go(func() { errs[i] = p.runSource(ctx, s, opts) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// RunObserver is an optional interface of a Telemetry; Run calls its
// methods when the Telemetry given to Build implements it. They must not
// block and must be safe for concurrent use.
type RunObserver interface {
	// Running is called once every component has started, just before the
	// sources run.
	Running()
	// SourceFailed is called when a source's Run returned err; unless the
	// pipeline is stopping or runs with Once, the source is run again after
	// retryIn.
	SourceFailed(source string, err error, retryIn time.Duration)
}

// Bounds of the wait before a failed source is run again.
const (
	sourceRestartMin = time.Second
	sourceRestartMax = 5 * time.Minute
)

// runSource runs one source. A source's failure never stops the others:
// several organizations share one process, and one organization's refused
// key or failing API must not hold back the rest. With Once the failure is
// returned when Run returns; otherwise the source is run again (it resumes
// from its checkpoint) with exponential back-off until ctx is done, and the
// failure is reported to a RunObserver so that readiness turns red.
func (p *Pipeline) runSource(ctx context.Context, s namedSource, opts RunOptions) error {
	obs, _ := p.tel.(RunObserver)
	host := SourceHost{Next: p.head, Store: p.store, Once: opts.Once, DrainTimeout: p.drainTimeout}
	wait := sourceRestartMin
	for {
		t0 := time.Now()
		err := s.src.Run(ctx, host)
		if err == nil {
			return nil
		}
		err = fmt.Errorf("source %q: %w", s.name, err)
		if opts.Once || ctx.Err() != nil {
			p.log.Error("source stopped", "source", s.name, "err", err)
			if obs != nil {
				obs.SourceFailed(s.name, err, 0)
			}
			return err
		}
		if time.Since(t0) > sourceRestartMax {
			wait = sourceRestartMin // it ran well for a while: start over
		}
		p.log.Error("source failed; the other sources keep running, this one restarts from its checkpoint",
			"source", s.name, "err", err, "retry_in", wait)
		if obs != nil {
			obs.SourceFailed(s.name, err, wait)
		}
		if Sleep(ctx, wait) != nil {
			return nil // stopping: the failure was reported and logged
		}
		wait = min(2*wait, sourceRestartMax)
	}
}

// OnDelivered registers f to be called after every batch all sinks
// acknowledged (inside a window, a batch before the WindowEnd batch may be
// acknowledged once handed on; see Consumer), with the batch as the sinks
// received it. Call it before Run;
// f must be safe for concurrent use and must not block.
func (p *Pipeline) OnDelivered(f func(Batch)) { p.head.(*chain).delivered = f }

// Head returns the consumer sources deliver to: the transforms, then the
// fan-out to the sinks. For tests and tools that drive a pipeline by hand.
func (p *Pipeline) Head() Consumer { return p.head }

// WrapSources replaces every source with wrap(name, source). It is for a
// layer that decides when the sources of this process run (the coordinator
// of replicas runs a source only while this replica owns it); the wrapper's
// lifecycle calls replace the source's. Call it before Run.
func (p *Pipeline) WrapSources(wrap func(name string, s Source) Source) {
	for i := range p.sources {
		p.sources[i].src = wrap(p.sources[i].name, p.sources[i].src)
	}
}

// Sink returns the sink named name (the dead-letter sink included), for a
// layer that shares a sink's connection: the coordinator of replicas talks
// to the Kafka cluster of the Kafka sink it names.
func (p *Pipeline) Sink(name string) (Sink, bool) {
	for _, s := range p.sinks {
		if s.name == name {
			return s.sink, true
		}
	}
	if p.deadLetter != nil && p.deadLetter.name == name {
		return p.deadLetter.sink, true
	}
	return nil, false
}
