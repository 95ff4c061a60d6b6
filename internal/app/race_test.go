//go:build race

package app_test

// raceDetector is on: timing bounds measured in tests mean nothing under
// its several-fold slowdown.
const raceDetector = true
