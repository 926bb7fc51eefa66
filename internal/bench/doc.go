// Package bench is the engine of "s2segment bench": it generates realistic
// Segment events and drives them through one stage of s2segment, measuring
// throughput, request fill, latency, retries, allocations and peak memory.
//
// # Events
//
// A Generator makes events deterministically from a seed: small (~0.5 KB,
// a server library's event), medium (~3 KB, analytics.js with its full
// browser context and a few products), large (~40 KB, an order with a long
// product list) or a mix. Every event is valid for the Send Data action and
// has its own messageId, so the same seed always writes the same rows.
//
// # Stages
//
//   - StagePipeline: the per-event work without network: the Send Data
//     action (subscription, mapping, validation), the row encoding and the
//     packing of rows into request bodies (singlestore.Encoder and
//     batch.Packer), one packer per worker.
//   - StageReplay: a singlestore.Writer with a real dataapi.Client, to the
//     Data API named by Config.DataAPI or to an embedded emulator on a
//     loopback port; each worker writes chunks of BatchSize events.
//   - StageServe: HTTP requests to the hosted endpoint at Config.URL (one
//     event per request on /v1/{type}, or BatchSize events per request on
//     /v1/batch), or, with no URL, to an in-process internal/endpoint backed by a
//     Writer and an embedded emulator.
//
// Run measures only the driving of the events: generating them, starting
// servers and creating the table come before the clock starts. Allocations are
// counted process-wide (runtime/metrics), so the in-process servers' work is
// included; peak RSS is VmHWM from /proc/self/status, reset at the start of the
// run where the kernel allows it.
//
// With Config.Baseline, the same events also go through a baseline in the same
// run and the Report gives the stage's speed as a ratio to it: an
// encoding/json pipeline and a gjson.ValidBytes pass for the pipeline stage, the
// pipeline stage for the replay stage, and one Data API request per event
// (no group commit, batch size 1) for the in-process serve stage.
package bench
