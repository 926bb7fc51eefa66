// Package archtest holds tests that keep the package graph of s2segment the
// way the design describes it: one-way, with each package importing only what
// its job needs. It has no code of its own.
package archtest
