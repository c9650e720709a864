//go:build race

package pipeline

// poisonReleased overwrites a Memory's blocks when they are released (see
// Memory.release): the tests run with the race detector.
const poisonReleased = true
