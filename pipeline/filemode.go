package pipeline

import "fmt"

// FileMode is a config value that holds the permission bits of a file a
// component creates. YAML reads 0600 as an octal number, and the effective
// config and the reference show it the same way ("0600"), not as the
// decimal 384 it is.
type FileMode uint32

// MarshalText writes the mode in octal with a leading zero, as chmod takes
// it.
func (m FileMode) MarshalText() ([]byte, error) { return fmt.Appendf(nil, "%04o", uint32(m)), nil }

// String is the mode as MarshalText writes it.
func (m FileMode) String() string { return fmt.Sprintf("%04o", uint32(m)) }
