//go:build !race

package openaisim

const raceEnabled = false
