// Package config loads auditrelay's configuration: a YAML file, overridden
// by AUDITRELAY_* environment variables, with ${env:NAME} and ${file:PATH}
// references for secrets. It is the only package that knows koanf.
//
// Decoding is strict: an unknown key is an error that names it. Every
// component's section is decoded into the default config of the factory its
// `type` selects and validated by that component; all errors of the whole
// file are reported together, each with its key path, for example
// "sources[0].poll_interval: must be > 0".
//
// It is not the place for component defaults or validation rules: those
// belong to each component's config.go.
package config
