package main

import (
	"fmt"
	"os"
	"strconv"

	"github.com/spf13/pflag"
)

// targetFlags are the destination settings shared by replay, serve and check:
// where the SingleStore Data API is and which table to write. Each flag can
// also come from an S2_* environment variable; a flag given on the command
// line wins. The password is never shown as a default in --help.
type targetFlags struct {
	Host     string
	Port     string
	User     string
	Password string
	Database string
	Table    string
	// Scheme is "https" (the default, with certificate verification) or
	// "http" for development deployments such as the dev image on port 9000.
	Scheme string
	// CACert is a PEM file of extra certificate authorities to trust.
	CACert string
	// Insecure skips TLS certificate verification (development only).
	Insecure bool

	fs *pflag.FlagSet
}

// Defaults of the destination settings.
const (
	defaultPort   = "443"
	defaultTable  = "segment_data"
	defaultScheme = "https"
)

// envFor maps each settings flag to its environment variable.
var envFor = map[string]string{
	"host":     "S2_HOST",
	"port":     "S2_PORT",
	"user":     "S2_USER",
	"password": "S2_PASSWORD",
	"database": "S2_DATABASE",
	"table":    "S2_TABLE",
	"scheme":   "S2_SCHEME",
	"ca-cert":  "S2_CA_CERT",
	"insecure": "S2_INSECURE",
}

// hostOnlyFlags are the settings that mean something only with a host.
var hostOnlyFlags = []string{"port", "user", "password"}

// register adds the settings flags to fs.
func (t *targetFlags) register(fs *pflag.FlagSet) {
	t.fs = fs
	fs.StringVar(&t.Host, "host", "", "Data API host; with no host an embedded emulator is used where the command supports it (env S2_HOST)")
	fs.StringVar(&t.Port, "port", defaultPort, "Data API port (env S2_PORT)")
	fs.StringVar(&t.User, "user", "", "database user (env S2_USER)")
	fs.StringVar(&t.Password, "password", "", "database password (env S2_PASSWORD; prefer the variable, flags show in process lists)")
	fs.StringVar(&t.Database, "database", "", "database name (env S2_DATABASE)")
	fs.StringVar(&t.Table, "table", defaultTable, "table name (env S2_TABLE)")
	fs.StringVar(&t.Scheme, "scheme", defaultScheme, "http or https; http only for development deployments (env S2_SCHEME)")
	fs.StringVar(&t.CACert, "ca-cert", "", "PEM file of certificate authorities to trust for https (env S2_CA_CERT)")
	fs.BoolVar(&t.Insecure, "insecure", false, "skip TLS certificate verification; development only (env S2_INSECURE)")
}

// resolve fills the settings that were not given as flags from the
// environment, and checks them. lookup is os.LookupEnv outside tests.
func (t *targetFlags) resolve(lookup func(string) (string, bool)) error {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	for name, env := range envFor {
		if t.fs != nil && t.fs.Changed(name) {
			continue
		}
		v, ok := lookup(env)
		if !ok || v == "" {
			continue
		}
		switch name {
		case "host":
			t.Host = v
		case "port":
			t.Port = v
		case "user":
			t.User = v
		case "password":
			t.Password = v
		case "database":
			t.Database = v
		case "table":
			t.Table = v
		case "scheme":
			t.Scheme = v
		case "ca-cert":
			t.CACert = v
		case "insecure":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("%s: want true or false, got %q", env, v)
			}
			t.Insecure = b
		}
	}
	if t.Host == "" && t.fs != nil {
		// Without a host the embedded emulator is used: these would be
		// ignored, which hides a missing --host.
		for _, name := range hostOnlyFlags {
			if t.fs.Changed(name) {
				return fmt.Errorf("--%s is given but --host is not: give --host, or neither to use the embedded emulator", name)
			}
		}
	}
	if t.Scheme != "http" && t.Scheme != "https" {
		return fmt.Errorf("--scheme: want http or https, got %q", t.Scheme)
	}
	if p, err := strconv.Atoi(t.Port); err != nil || p < 1 || p > 65535 {
		return fmt.Errorf("--port: want a port number from 1 to 65535, got %q", t.Port)
	}
	return nil
}
