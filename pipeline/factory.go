package pipeline

import (
	"errors"
	"fmt"
	"sort"
)

// Config is a component's configuration: a plain struct, decoded from the
// component's section of the config file with unknown keys refused.
type Config interface {
	// Validate reports every problem of the config at once, each error
	// naming its key (see FieldError), joined with errors.Join.
	Validate() error
}

// Kind is the role of a component.
type Kind int

// The kinds of components.
const (
	KindSource Kind = iota + 1
	KindTransform
	KindSink
	KindStore
)

func (k Kind) String() string {
	switch k {
	case KindSource:
		return "source"
	case KindTransform:
		return "transform"
	case KindSink:
		return "sink"
	case KindStore:
		return "checkpoint"
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// Factory creates components of one type.
type Factory interface {
	Kind() Kind
	// Type is the value of the `type` key that selects this factory.
	Type() string
	// DefaultConfig returns a new pointer to a config struct holding the
	// defaults; the config file is decoded over it.
	DefaultConfig() Config
}

// SourceFactory creates sources.
type SourceFactory interface {
	Factory
	CreateSource(set Settings, cfg Config) (Source, error)
}

// TransformFactory creates transforms.
type TransformFactory interface {
	Factory
	CreateTransform(set Settings, cfg Config) (Transform, error)
}

// SinkFactory creates sinks.
type SinkFactory interface {
	Factory
	CreateSink(set Settings, cfg Config) (Sink, error)
}

// Defaulter is implemented by an optional nested section of a Config (a
// pointer field, nil when the section is absent): when the section is
// present, the keys it leaves out take the defaults SetDefaults sets.
type Defaulter interface {
	SetDefaults()
}

// SpecChecker is the optional interface of a component's Config whose
// validity depends on the rest of the pipeline: a Kafka sink with
// exactly_once needs the Kafka cursor store that names it. Loading a config
// calls CheckSpec once every section is decoded; self is the component's
// name. Errors name their keys within the component's section (see
// FieldError), like Validate's.
type SpecChecker interface {
	CheckSpec(self string, spec Spec) error
}

// Keyed is the optional interface of a source's Config that reads a
// vendor's API with a key: a component of the same pipeline that reads the
// same API (enrich's directory) may use its key, from CheckSpec.
type Keyed interface {
	// APIKeyOf returns the vendor ("openai"), the API's base URL and key.
	APIKeyOf() (vendor, baseURL string, key Secret)
}

// StoreHost gives a cursor store what it may be built on: the sinks already
// created (the Kafka store writes through the Kafka sink it names) and the
// names of the pipeline's sources (replicas share them out).
type StoreHost struct {
	Sinks   map[string]Sink
	Sources []string
}

// StoreFactory creates checkpoint stores.
type StoreFactory interface {
	Factory
	CreateStore(set Settings, cfg Config, host StoreHost) (CursorStore, error)
}

type factory[C Config] struct {
	kind Kind
	typ  string
	def  func() C
}

func (f factory[C]) Kind() Kind            { return f.kind }
func (f factory[C]) Type() string          { return f.typ }
func (f factory[C]) DefaultConfig() Config { return f.def() }

func typed[C Config](typ string, cfg Config) (C, error) {
	c, ok := cfg.(C)
	if !ok {
		var zero C
		return zero, fmt.Errorf("%s: config of type %T, want %T", typ, cfg, zero)
	}
	return c, nil
}

// maker is a factory of components of type T: create gets the config as
// its own type.
type maker[C Config, T any] struct {
	factory[C]
	create func(Settings, C) (T, error)
}

func (f maker[C, T]) make(set Settings, cfg Config) (T, error) {
	c, err := typed[C](f.typ, cfg)
	if err != nil {
		var zero T
		return zero, err
	}
	return f.create(set, c)
}

type sourceFactory[C Config] struct{ maker[C, Source] }

func (f sourceFactory[C]) CreateSource(set Settings, cfg Config) (Source, error) {
	return f.make(set, cfg)
}

// NewSourceFactory returns a SourceFactory for type typ.
func NewSourceFactory[C Config](typ string, def func() C, create func(Settings, C) (Source, error)) SourceFactory {
	return sourceFactory[C]{maker[C, Source]{factory[C]{KindSource, typ, def}, create}}
}

type transformFactory[C Config] struct{ maker[C, Transform] }

func (f transformFactory[C]) CreateTransform(set Settings, cfg Config) (Transform, error) {
	return f.make(set, cfg)
}

// NewTransformFactory returns a TransformFactory for type typ.
func NewTransformFactory[C Config](typ string, def func() C, create func(Settings, C) (Transform, error)) TransformFactory {
	return transformFactory[C]{maker[C, Transform]{factory[C]{KindTransform, typ, def}, create}}
}

type sinkFactory[C Config] struct{ maker[C, Sink] }

func (f sinkFactory[C]) CreateSink(set Settings, cfg Config) (Sink, error) {
	return f.make(set, cfg)
}

// NewSinkFactory returns a SinkFactory for type typ.
func NewSinkFactory[C Config](typ string, def func() C, create func(Settings, C) (Sink, error)) SinkFactory {
	return sinkFactory[C]{maker[C, Sink]{factory[C]{KindSink, typ, def}, create}}
}

type storeFactory[C Config] struct {
	factory[C]
	create func(Settings, C, StoreHost) (CursorStore, error)
}

func (f storeFactory[C]) CreateStore(set Settings, cfg Config, host StoreHost) (CursorStore, error) {
	c, err := typed[C](f.typ, cfg)
	if err != nil {
		return nil, err
	}
	return f.create(set, c, host)
}

// NewStoreFactory returns a StoreFactory for type typ.
func NewStoreFactory[C Config](typ string, def func() C, create func(Settings, C, StoreHost) (CursorStore, error)) StoreFactory {
	return storeFactory[C]{factory[C]{KindStore, typ, def}, create}
}

// Registry holds the factories the binary was built with. It is filled
// explicitly (cmd/auditrelay/components.go), never from init functions.
type Registry struct {
	factories map[Kind]map[string]Factory
}

// NewRegistry returns a registry holding fs. It fails when a factory's kind
// is unknown or a type is registered twice for one kind.
func NewRegistry(fs ...Factory) (*Registry, error) {
	r := &Registry{factories: map[Kind]map[string]Factory{}}
	var errs []error
	for _, f := range fs {
		switch f.(type) {
		case SourceFactory, TransformFactory, SinkFactory, StoreFactory:
		default:
			errs = append(errs, fmt.Errorf("factory %q (%T) implements no factory interface", f.Type(), f))
			continue
		}
		m := r.factories[f.Kind()]
		if m == nil {
			m = map[string]Factory{}
			r.factories[f.Kind()] = m
		}
		if _, dup := m[f.Type()]; dup {
			errs = append(errs, fmt.Errorf("%s type %q registered twice", f.Kind(), f.Type()))
			continue
		}
		m[f.Type()] = f
	}
	return r, errors.Join(errs...)
}

// Factory returns the factory of kind k and type typ.
func (r *Registry) Factory(k Kind, typ string) (Factory, bool) {
	f, ok := r.factories[k][typ]
	return f, ok
}

// Types lists the registered types of kind k, sorted.
func (r *Registry) Types(k Kind) []string {
	var out []string
	for t := range r.factories[k] {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// FieldError returns an error for config key key, e.g.
// FieldError("poll_interval", "must be > 0"). The config package prefixes it
// with the path of the component's section.
func FieldError(key, format string, args ...any) error {
	return fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...))
}

// SectionErrors prefixes every error joined in err with the key of the
// nested section it belongs to, e.g. SectionErrors("tls", err) turns
// "ca_file: ..." into "tls.ca_file: ...". It returns nil for nil.
func SectionErrors(section string, err error) []error {
	if err == nil {
		return nil
	}
	list := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		list = j.Unwrap()
	}
	out := make([]error, len(list))
	for i, e := range list {
		out[i] = fmt.Errorf("%s.%w", section, e)
	}
	return out
}
