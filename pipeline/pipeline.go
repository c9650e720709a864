package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
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
	// Accept applies to sinks only: the events the sink takes.
	Accept Accept
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

// Pipeline is a built, not yet started, set of components: its sources
// and the engine that holds the rest.
type Pipeline struct {
	engine  *engine
	sources []namedSource
}

// newPipeline returns a pipeline without components; a nil log discards,
// a nil tel measures nothing, and drain defaults to 30s.
func newPipeline(log *slog.Logger, tel Telemetry, drain time.Duration) *Pipeline {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if tel == nil {
		tel = NopTelemetry{}
	}
	if drain <= 0 {
		drain = 30 * time.Second
	}
	// The Tracer is an optional interface of the Telemetry, found once
	// here (as RunObserver is) and handed to every component in Settings.
	tracer, ok := tel.(Tracer)
	if !ok {
		tracer = NopTracer{}
	}
	return &Pipeline{engine: &engine{log: log, tel: tel, tracer: tracer, drain: drain}}
}

// Build creates every component of spec through the factories of reg.
// Nothing is started.
func Build(reg *Registry, spec Spec, log *slog.Logger, tel Telemetry) (*Pipeline, error) {
	p := newPipeline(log, tel, spec.DrainTimeout)
	log, tel = p.engine.log, p.engine.tel
	settings := func(k Kind, c ComponentSpec) Settings {
		return Settings{Name: c.Name, Type: c.Type, BaseDir: spec.BaseDir, Telemetry: tel, Tracer: p.engine.tracer,
			Logger: log.With(k.String(), c.Name)}
	}
	if len(spec.Sources) == 0 {
		return nil, errors.New("no sources configured")
	}
	if len(spec.Sinks) == 0 {
		return nil, errors.New("no sinks configured")
	}

	if c := spec.DeadLetter; c != nil {
		s, err := create(reg, KindSink, *c, settings, "dead_letter", SinkFactory.CreateSink)
		if err != nil {
			return nil, err
		}
		p.engine.deadLetter = newSlot(c.Name, s, c.Retry)
	}
	sinkMap := map[string]Sink{}
	for _, c := range spec.Sinks {
		s, err := create(reg, KindSink, c, settings, fmt.Sprintf("sink %q", c.Name), SinkFactory.CreateSink)
		if err != nil {
			return nil, err
		}
		sinkMap[c.Name] = s
		p.engine.sinks = append(p.engine.sinks, newSlot(c.Name, s, c.Retry).accepting(c.Accept))
	}
	for _, c := range spec.Transforms {
		t, err := create(reg, KindTransform, c, settings, fmt.Sprintf("transform %q", c.Name), TransformFactory.CreateTransform)
		if err != nil {
			return nil, err
		}
		p.engine.transforms = append(p.engine.transforms, namedTransform{c.Name, t})
	}
	var names []string
	for _, c := range spec.Sources {
		names = append(names, c.Name)
	}
	host := StoreHost{Sinks: sinkMap, Sources: names}
	store, err := create(reg, KindStore, spec.Checkpoint, settings, "checkpoint",
		func(f StoreFactory, set Settings, cfg Config) (CursorStore, error) {
			return f.CreateStore(set, cfg, host)
		})
	if err != nil {
		return nil, err
	}
	p.engine.store = store
	for _, c := range spec.Sources {
		s, err := create(reg, KindSource, c, settings, fmt.Sprintf("source %q", c.Name), SourceFactory.CreateSource)
		if err != nil {
			return nil, err
		}
		p.sources = append(p.sources, namedSource{c.Name, s})
	}
	return p, nil
}

// create makes the component c of kind k with build, a method of its
// factory such as SinkFactory.CreateSink, and settings(k, c). An error of
// the factory is prefixed with where, the name of c's section.
func create[F Factory, T any](reg *Registry, k Kind, c ComponentSpec, settings func(Kind, ComponentSpec) Settings,
	where string, build func(F, Settings, Config) (T, error)) (T, error) {
	var zero T
	f, ok := reg.Factory(k, c.Type)
	if !ok {
		return zero, fmt.Errorf("%s %q: unknown type %q", k, c.Name, c.Type)
	}
	v, err := build(f.(F), settings(k, c), c.Config)
	if err != nil {
		return zero, fmt.Errorf("%s: %w", where, err)
	}
	return v, nil
}

// RunOptions modify how Run behaves.
type RunOptions struct {
	// Once makes every source catch up and return, then Run returns.
	Once bool
	// Started, when set, is called once every component started, before
	// the sources run: a Run that returns without calling it failed to
	// start.
	Started func()
}

// Run starts the sinks (dead-letter first), the transforms, the store and
// the sources, runs the sources until ctx is done (or, with Once, until they
// caught up), then shuts everything down upstream first so that each stage
// drains into a live consumer. A failing source does not stop the others
// (see runSource). It returns the sources' errors joined: with Once every
// failure, otherwise only those of sources that failed as ctx ended.
func (p *Pipeline) Run(ctx context.Context, opts RunOptions) (err error) {
	e := p.engine
	var started []Component
	defer func() {
		// Shutdown is not bounded by ctx (which is done by now): it gets
		// its own deadline so that files are flushed and transactions closed.
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), e.drain)
		defer cancel()
		for i := len(started) - 1; i >= 0; i-- {
			if serr := started[i].Shutdown(sctx); serr != nil {
				err = errors.Join(err, fmt.Errorf("shutdown: %w", serr))
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
	if dl := e.deadLetter; dl != nil {
		if err := start("dead_letter sink "+dl.name, dl.sink); err != nil {
			return err
		}
	}
	for _, s := range e.sinks {
		if err := start(fmt.Sprintf("sink %q", s.name), s.sink); err != nil {
			return err
		}
	}
	for _, t := range e.transforms {
		if err := start(fmt.Sprintf("transform %q", t.name), t.t); err != nil {
			return err
		}
	}
	if err := start("checkpoint store", e.store); err != nil {
		return err
	}
	for _, s := range p.sources {
		if err := start(fmt.Sprintf("source %q", s.name), s.src); err != nil {
			return err
		}
	}

	if _, ok := e.store.(Gate); ok && opts.Once {
		e.log.Info("running once: the sources are not shared out among replicas, this run catches up every source")
	}
	if obs, ok := e.tel.(RunObserver); ok {
		obs.Running()
	}
	if opts.Started != nil {
		opts.Started()
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
// failure is reported to a RunObserver so that readiness turns red. When
// the cursor store is a Gate (replicas), the source runs only while this
// process holds it (not with Once: a catch-up run takes every source).
func (p *Pipeline) runSource(ctx context.Context, s namedSource, opts RunOptions) error {
	obs, _ := p.engine.tel.(RunObserver)
	log := p.engine.log
	wait := sourceRestartMin
	for {
		t0 := time.Now()
		err := p.runGated(ctx, s, opts)
		if err == nil {
			return nil
		}
		err = fmt.Errorf("source %q: %w", s.name, err)
		if opts.Once || ctx.Err() != nil {
			log.Error("source stopped", "source", s.name, "err", err)
			if obs != nil {
				obs.SourceFailed(s.name, err, 0)
			}
			return err
		}
		if time.Since(t0) > sourceRestartMax {
			wait = sourceRestartMin // it ran well for a while: start over
		}
		log.Error("source failed; the other sources keep running, this one restarts from its checkpoint",
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

// runGated runs the source once, or, with a Gate, each time the gate grants
// it until ctx is done or the source fails while granted.
func (p *Pipeline) runGated(ctx context.Context, s namedSource, opts RunOptions) error {
	gate, ok := p.engine.store.(Gate)
	if !ok || opts.Once {
		return p.engine.runSource(ctx, s.name, s.src, opts.Once)
	}
	for {
		granted, release, err := gate.Acquire(ctx, s.name)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		err = p.engine.runSource(granted, s.name, s.src, false)
		revoked := granted.Err() != nil && ctx.Err() == nil
		release()
		switch {
		case ctx.Err() != nil:
			return err
		case revoked:
			if err != nil {
				p.engine.log.Warn("source stopped with an error after this replica lost it", "source", s.name, "err", err)
			} else {
				p.engine.log.Info("source stopped: another replica takes it over", "source", s.name)
			}
			continue
		}
		return err
	}
}

// OnProgress registers f to be called after every committed window with
// the progress of its source. Call it before Run; f must be safe for
// concurrent use (sources run concurrently) and must not block.
func (p *Pipeline) OnProgress(f func(source string, pr Progress)) { p.engine.progress = f }
