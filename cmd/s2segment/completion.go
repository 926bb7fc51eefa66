package main

import (
	"github.com/spf13/cobra"

	"github.com/s2segment/s2segment/destination/singlestore"
)

// flagValues are the values of the flags that take one of a few words, for
// shell completion ("s2segment completion bash|zsh|fish|powershell").
var flagValues = map[string][]string{
	"schema":    {"dedupe\tmessageId is the unique key; redeliveries are written once", "reference\tSegment's keyless table"},
	"stage":     {"pipeline\tmapping, encoding and packing, in process", "replay\ta Writer with a real Data API client", "serve\tHTTP requests to the endpoint"},
	"size":      {"small\t~0.5 KB", "medium\t~3 KB", "large\t~40 KB", "mixed\t70% small, 25% medium, 5% large"},
	"scheme":    {"https", "http\tdevelopment deployments only"},
	"log-level": {"debug\tevery request", "info", "warn", "error"},
	"action":    {singlestore.SendActionKey + "\tthe Send Data action"},
}

// registerCompletions adds the completion of enumerated flag values to cmd
// and every command under it.
func registerCompletions(cmd *cobra.Command) {
	for name, values := range flagValues {
		if cmd.Flags().Lookup(name) == nil {
			continue
		}
		_ = cmd.RegisterFlagCompletionFunc(name, cobra.FixedCompletions(values, cobra.ShellCompDirectiveNoFileComp))
	}
	for _, sub := range cmd.Commands() {
		registerCompletions(sub)
	}
}
