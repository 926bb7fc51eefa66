package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// version, when set at build time with -ldflags "-X main.version=…", is
// printed instead of the module version of the build information.
var version = ""

// buildVersion describes this binary from its build information: the
// module's version (from a tag, a pseudo-version, or "(devel)"), and the
// commit it was built from, with "(modified)" when the work tree had
// changes. A binary built without VCS stamping (go run, -buildvcs=false)
// says that the commit is unknown.
type buildVersion struct {
	Module    string // module path
	Version   string
	Revision  string // full commit hash, or ""
	Time      string // commit time, RFC 3339, or ""
	Modified  bool
	GoVersion string
}

func readBuildVersion() buildVersion {
	v := buildVersion{Module: "github.com/s2segment/s2segment", Version: "(devel)", GoVersion: runtime.Version()}
	if info, ok := debug.ReadBuildInfo(); ok {
		if info.Main.Path != "" {
			v.Module = info.Main.Path
		}
		if info.Main.Version != "" {
			v.Version = info.Main.Version
		}
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				v.Revision = s.Value
			case "vcs.time":
				v.Time = s.Value
			case "vcs.modified":
				v.Modified = s.Value == "true"
			}
		}
	}
	if version != "" {
		v.Version = version
	}
	return v
}

// String is the one line "s2segment --version" prints:
// "s2segment v0.3.1 (github.com/s2segment/s2segment, commit 1a2b3c4d5e6f, 2026-12-04T03:30:00Z, go1.26.8)".
func (v buildVersion) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "s2segment %s (%s", v.Version, v.Module)
	switch {
	case v.Revision == "":
		b.WriteString(", commit unknown: built without VCS information")
	default:
		rev := v.Revision
		if len(rev) > 12 {
			rev = rev[:12]
		}
		b.WriteString(", commit " + rev)
		if v.Modified {
			b.WriteString(" (modified)")
		}
		if v.Time != "" {
			b.WriteString(", " + v.Time)
		}
	}
	b.WriteString(", " + v.GoVersion + ")")
	return b.String()
}

func printVersion(w io.Writer) error {
	_, err := fmt.Fprintln(w, readBuildVersion())
	return err
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version of s2segment: module version, commit and Go version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return printVersion(cmd.OutOrStdout())
		},
	}
}
