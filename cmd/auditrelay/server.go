package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/auditrelay/auditrelay/config"
	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/telemetry"
)

// serve starts the HTTP server of /metrics, /healthz and /readyz on ln and
// returns a function that stops it (and closes ln). The caller binds ln
// before, so that a port in use is an error at start-up, not later.
func serve(ctx context.Context, ln net.Listener, h http.Handler, log *slog.Logger) (stop func()) {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		WriteTimeout:      30 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics and health server stopped", "err", err)
		}
	}()
	log.Info("serving /metrics, /healthz and /readyz", "addr", ln.Addr().String())
	return func() {
		// The pipeline has stopped; answer the requests in progress briefly.
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		<-done
	}
}

// runReloading runs the pipeline of cfg until ctx is done or, with once,
// until it caught up. On every value from m.Reload (SIGHUP) it re-reads
// cfg.Path: an invalid config (or one whose components cannot be built) is
// logged and refused, and the running pipeline carries on; a valid one
// replaces it: the running pipeline drains (its sources finish and commit
// the window in flight) before the new one starts, so that two pipelines
// never share a checkpoint. A new pipeline that cannot start (a sink's file
// cannot be created) gives way to the previous configuration again. A
// reload that fails either way is logged, counted and shown on /readyz.
// The log and server sections take effect only at restart.
func (m *Main) runReloading(ctx context.Context, reg *pipeline.Registry, cfg *config.Config, log *slog.Logger, tel *telemetry.Telemetry, once bool, status *statusLine) int {
	p, err := buildPipeline(reg, cfg, log, tel, status)
	if err != nil {
		log.Error("building the pipeline failed", "err", err)
		return exitFailure
	}
	reload := m.Reload
	if once {
		reload = nil // a catch-up run is short; a reload would only restart it
	}
	var prev *config.Config // the configuration a reload replaced, until the new one started
	for {
		tel.Begin(trackedNames(cfg.Spec))
		runCtx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		var started atomic.Bool
		reloaded := prev != nil
		go func() {
			done <- p.Run(runCtx, pipeline.RunOptions{Once: once, Started: func() {
				started.Store(true)
				if reloaded {
					tel.Reloaded()
				}
			}})
		}()
		var next *pipeline.Pipeline
		var nextCfg *config.Config
		var runErr error
		stopped := false
		for next == nil && !stopped {
			select {
			case runErr = <-done:
				stopped = true
			case <-reload:
				if nextCfg, next, err = m.prepareReload(reg, cfg.Path, log, tel, status); err != nil {
					log.Error("reload refused; the running configuration stays in effect", "config", cfg.Path, "err", err)
					tel.ReloadFailed(err)
				}
			}
		}
		cancel()
		if stopped && reloaded && !started.Load() && ctx.Err() == nil {
			log.Error("the reloaded configuration could not start; the previous one runs again", "config", cfg.Path, "err", runErr)
			tel.ReloadFailed(fmt.Errorf("the reloaded configuration could not start: %w", runErr))
			if p, err = buildPipeline(reg, prev, log, tel, status); err != nil {
				log.Error("building the previous pipeline again failed", "err", err)
				return exitFailure
			}
			cfg, prev = prev, nil
			continue
		}
		if stopped {
			tel.Stopped()
			if runErr != nil {
				log.Error("auditrelay stopped with an error", "err", runErr)
				if pipeline.IsSetup(runErr) {
					return exitUsage
				}
				return exitFailure
			}
			log.Info("auditrelay stopped")
			return exitOK
		}
		log.Info("reloading: draining the running pipeline", "config", cfg.Path)
		if drainErr := <-done; drainErr != nil {
			if ctx.Err() != nil {
				tel.Stopped()
				if errors.Is(drainErr, pipeline.ErrInterrupted) {
					return exitFailure
				}
			}
			log.Warn("the replaced pipeline stopped with an error", "err", drainErr)
		}
		if ctx.Err() != nil {
			tel.Stopped()
			log.Info("auditrelay stopped")
			return exitOK
		}
		if started.Load() {
			prev = cfg // the configuration to go back to if the new one cannot start
		}
		cfg, p = nextCfg, next
		log.Info("reloaded; starting the new pipeline", "sources", len(cfg.Spec.Sources), "sinks", len(cfg.Spec.Sinks))
	}
}

// prepareReload loads and validates the config at path and builds (without
// starting) its pipeline.
func (m *Main) prepareReload(reg *pipeline.Registry, path string, log *slog.Logger, tel *telemetry.Telemetry, status *statusLine) (*config.Config, *pipeline.Pipeline, error) {
	log.Info("SIGHUP: reloading the configuration", "config", path)
	cfg, err := config.Load(path, reg, m.Environ)
	if err != nil {
		return nil, nil, err
	}
	p, err := buildPipeline(reg, cfg, log, tel, status)
	if err != nil {
		return nil, nil, fmt.Errorf("building the pipeline: %w", err)
	}
	logWarnings(log, cfg)
	return cfg, p, nil
}

// trackedNames lists the sources and sinks (dead-letter sink included) of
// spec, for telemetry.Begin.
func trackedNames(spec pipeline.Spec) (sources, sinks []string) {
	for _, s := range spec.Sources {
		sources = append(sources, s.Name)
	}
	for _, s := range spec.Sinks {
		sinks = append(sinks, s.Name)
	}
	if spec.DeadLetter != nil {
		sinks = append(sinks, spec.DeadLetter.Name)
	}
	return sources, sinks
}
