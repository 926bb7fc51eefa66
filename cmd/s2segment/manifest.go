package main

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/s2segment/s2segment/destination/singlestore"
	"github.com/spf13/cobra"
)

func init() { register(newManifestCmd) }

func newManifestCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "manifest",
		Short: "Print the destination definition as JSON",
		Long: `manifest prints the SingleStore destination's definition as JSON: its
settings (host, port, username, password, dbName, tableName) and the Send Data
action with its fields, defaults, choices, bounds and default subscription, in
the shape of Segment's destination definitions.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			m, err := singlestore.Manifest()
			if err != nil {
				return failedError(fmt.Errorf("writing manifest: %w", err))
			}
			var out bytes.Buffer
			if err := json.Indent(&out, m, "", "  "); err != nil {
				return failedError(fmt.Errorf("writing manifest: %w", err))
			}
			out.WriteByte('\n')
			_, err = cmd.OutOrStdout().Write(out.Bytes())
			return err
		},
	}
}
