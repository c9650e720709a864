//go:build !race

package pipeline

// poisonReleased is off outside the race detector's builds: overwriting
// every released block would cost what the reuse saves.
const poisonReleased = false
