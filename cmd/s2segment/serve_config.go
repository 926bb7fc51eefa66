package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/s2segment/s2segment/destination/singlestore"
)

// serveSource is one source of "s2segment serve", from the flags or from a
// --config file: its credentials, where its events go and how they are
// mapped. A settings host of "" means the embedded emulator.
type serveSource struct {
	name          string
	writeKey      string
	webhookSecret string
	// webhookTolerance and webhookFirstElement are the source's
	// endpoint.Source options of the same names.
	webhookTolerance    time.Duration
	webhookFirstElement bool
	settings            singlestore.Settings
	mapping             json.RawMessage
	subscription        string
	schema              singlestore.Schema
	jsonColumns         singlestore.JSONMode
	action              string
}

// serveFile is the --config file of "s2segment serve".
type serveFile struct {
	Sources []serveFileSource `json:"sources"`
}

// serveFileSource is one source of a --config file. Secrets are given
// either inline or, better, as the name of the environment variable that
// holds them.
type serveFileSource struct {
	Name             string `json:"name"`
	WriteKey         string `json:"writeKey"`
	WriteKeyEnv      string `json:"writeKeyEnv"`
	WebhookSecret    string `json:"webhookSecret"`
	WebhookSecretEnv string `json:"webhookSecretEnv"`
	// WebhookTolerance is a Go duration ("5m"): replay protection, see
	// endpoint.Source.WebhookTolerance.
	WebhookTolerance string `json:"webhookTolerance"`
	// WebhookFirstElementSignature: see
	// endpoint.Source.WebhookFirstElementSignature.
	WebhookFirstElementSignature bool            `json:"webhookFirstElementSignature"`
	Settings                     json.RawMessage `json:"settings"`
	PasswordEnv                  string          `json:"passwordEnv"`
	Mapping                      json.RawMessage `json:"mapping"`
	Subscription                 string          `json:"subscription"`
	Schema                       string          `json:"schema"`
	JSONStrings                  bool            `json:"jsonStrings"`
	Action                       string          `json:"action"`
}

// maxServeConfigBytes bounds a --config file.
const maxServeConfigBytes = 4 << 20

// loadServeConfig reads a --config file.
func loadServeConfig(path string, lookup func(string) (string, bool)) ([]serveSource, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--config: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxServeConfigBytes+1))
	if err != nil {
		return nil, fmt.Errorf("--config: reading %s: %w", path, err)
	}
	if len(data) > maxServeConfigBytes {
		return nil, fmt.Errorf("--config: %s is larger than %d bytes", path, maxServeConfigBytes)
	}
	srcs, err := parseServeConfig(data, lookup)
	if err != nil {
		return nil, fmt.Errorf("--config %s: %w", path, err)
	}
	return srcs, nil
}

// parseServeConfig reads the JSON of a --config file. Unknown keys are
// errors (a misspelt key would otherwise be ignored silently), and so are
// environment variables that are named but unset.
func parseServeConfig(data []byte, lookup func(string) (string, bool)) ([]serveSource, error) {
	var file serveFile
	if err := serveDecodeStrict(data, &file); err != nil {
		return nil, err
	}
	if len(file.Sources) == 0 {
		return nil, errors.New(`"sources" is empty: give at least one source`)
	}
	out := make([]serveSource, 0, len(file.Sources))
	for i, fs := range file.Sources {
		where := fmt.Sprintf("sources[%d]", i)
		if fs.Name != "" {
			where = fmt.Sprintf("sources[%d] (%s)", i, fs.Name)
		}
		src, err := fs.resolve(lookup)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		out = append(out, src)
	}
	return out, nil
}

// serveDecodeStrict decodes one JSON value into v, refusing unknown keys and
// trailing data, and says where a syntax error is.
func serveDecodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			return fmt.Errorf("not JSON at byte offset %d: %w", se.Offset, err)
		case errors.As(err, &te):
			return fmt.Errorf("%q at byte offset %d: want a JSON %s, got %s", te.Field, te.Offset, serveJSONKind(te.Type.Kind().String()), te.Value)
		case errors.Is(err, io.ErrUnexpectedEOF):
			return fmt.Errorf("not JSON at byte offset %d: the text ends inside a value", len(data))
		case errors.Is(err, io.EOF):
			return errors.New("empty: want a JSON object")
		}
		return err
	}
	if dec.More() {
		return fmt.Errorf("unexpected data after the JSON value at byte offset %d", dec.InputOffset())
	}
	return nil
}

func serveJSONKind(goKind string) string {
	switch goKind {
	case "string":
		return "string"
	case "bool":
		return "boolean"
	case "slice":
		return "array"
	case "struct", "map":
		return "object"
	}
	return "number"
}

// resolve turns a file source into a serveSource, reading its secrets from
// the environment where the file names variables.
func (fs serveFileSource) resolve(lookup func(string) (string, bool)) (serveSource, error) {
	src := serveSource{name: fs.Name, subscription: fs.Subscription}
	var err error
	if src.writeKey, err = serveSecretFrom("writeKey", fs.WriteKey, fs.WriteKeyEnv, lookup); err != nil {
		return src, err
	}
	if src.webhookSecret, err = serveSecretFrom("webhookSecret", fs.WebhookSecret, fs.WebhookSecretEnv, lookup); err != nil {
		return src, err
	}
	if fs.WebhookTolerance != "" {
		if src.webhookTolerance, err = time.ParseDuration(fs.WebhookTolerance); err != nil || src.webhookTolerance < 0 {
			return src, fmt.Errorf(`"webhookTolerance": want a duration such as "5m", got %q`, fs.WebhookTolerance)
		}
	}
	src.webhookFirstElement = fs.WebhookFirstElementSignature
	if (src.webhookTolerance > 0 || src.webhookFirstElement) && src.webhookSecret == "" {
		return src, errors.New(`"webhookTolerance" and "webhookFirstElementSignature" need "webhookSecret" (or "webhookSecretEnv")`)
	}
	if src.writeKey == "" && src.webhookSecret == "" {
		return src, errors.New(`needs "writeKey" (or "writeKeyEnv"), "webhookSecret" (or "webhookSecretEnv"), or both`)
	}
	if len(fs.Settings) == 0 || string(fs.Settings) == "null" {
		return src, errors.New(`"settings" is missing: give {"host", "port", "username", "password", "dbName", "tableName"}, or {} for the embedded emulator`)
	}
	if err := serveDecodeStrict(fs.Settings, &src.settings); err != nil {
		return src, fmt.Errorf(`"settings": %w`, err)
	}
	if fs.PasswordEnv != "" {
		if src.settings.Password, err = serveSecretFrom("password", "", fs.PasswordEnv, lookup); err != nil {
			return src, err
		}
	}
	if src.settings.Port == "" {
		src.settings.Port = singlestore.DefaultPort
	}
	if src.settings.TableName == "" {
		src.settings.TableName = singlestore.DefaultTable
	}
	if src.settings.Host != "" {
		if err := src.settings.Validate(); err != nil {
			return src, fmt.Errorf(`"settings": %w`, err)
		}
	}
	if len(fs.Mapping) > 0 && string(fs.Mapping) != "null" {
		if t := bytes.TrimSpace(fs.Mapping); len(t) == 0 || t[0] != '{' {
			return src, errors.New(`"mapping" must be a JSON object (the fields to overlay on the defaults)`)
		}
		src.mapping = fs.Mapping
	}
	if src.schema, err = singlestore.ParseSchema(fs.Schema); err != nil {
		return src, fmt.Errorf(`"schema": %w`, err)
	}
	if fs.JSONStrings {
		src.jsonColumns = singlestore.JSONString
	}
	switch fs.Action {
	case "", singlestore.SendActionKey:
		src.action = singlestore.SendActionKey
	case singlestore.WarehouseActionKey:
		src.action = singlestore.WarehouseActionKey
		if len(src.mapping) > 0 || fs.Subscription != "" || fs.Schema != "" || fs.JSONStrings {
			return src, errors.New(`"mapping", "subscription", "schema" and "jsonStrings" go with the Send Data action; the warehouse action has its own tables`)
		}
	default:
		return src, fmt.Errorf(`"action": want %q or %q, got %q`, singlestore.SendActionKey, singlestore.WarehouseActionKey, fs.Action)
	}
	return src, nil
}

// serveSecretFrom returns an inline secret or the value of the environment
// variable env; giving both is an error, and so is a variable that is unset
// or empty.
func serveSecretFrom(key, inline, env string, lookup func(string) (string, bool)) (string, error) {
	switch {
	case inline != "" && env != "":
		return "", fmt.Errorf("give %q or %q, not both", key, key+"Env")
	case env == "":
		return inline, nil
	case strings.ContainsAny(env, "= \t\n"):
		return "", fmt.Errorf("%q: %q is not an environment variable name", key+"Env", env)
	}
	v, ok := lookup(env)
	if !ok || v == "" {
		return "", fmt.Errorf("%q: the environment variable %s is not set", key+"Env", env)
	}
	return v, nil
}
