package file

import (
	"os"
	"path/filepath"

	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/sinks/file/chain"
)

// NewFactory returns the factory of the file sink, type "file".
func NewFactory() pipeline.SinkFactory {
	return pipeline.NewSinkFactory("file", defaultConfig, func(set pipeline.Settings, c *Config) (pipeline.Sink, error) {
		path := c.Path
		if path != "-" && !filepath.IsAbs(path) && set.BaseDir != "" {
			path = filepath.Join(set.BaseDir, path)
		}
		s := New(path, c.Format, c.Fsync, os.FileMode(c.Mode))
		s.log = set.Log()
		if c.Integrity != "" {
			key, err := chain.ParsePrivateKey([]byte(c.SigningKey.Value()))
			if err != nil {
				return nil, pipeline.FieldError("signing_key", "%v", err)
			}
			s.integ = newArchive(path, key, c.RotateBytes, os.FileMode(c.Mode), s.log)
		}
		return s, nil
	})
}
