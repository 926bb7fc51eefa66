package adapter

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"

	"github.com/s2segment/s2segment/dataapi"
	"github.com/s2segment/s2segment/destination"
	"github.com/s2segment/s2segment/destination/singlestore"
	"github.com/s2segment/s2segment/internal/diagnose"
	"github.com/s2segment/s2segment/internal/endpoint"
	"github.com/s2segment/s2segment/internal/lrucache"
)

// DefaultMaxClients is how many Data API clients Actions keeps, one per
// distinct connection settings.
const DefaultMaxClients = 64

// ActionsConfig configures Actions. The zero value speaks https to the
// Data API, creates and writes dedupe tables, and keeps DefaultMaxClients
// clients.
type ActionsConfig struct {
	// Connection is how every Data API named by settings is spoken to.
	Connection Connection
	// Schema is the schema of the tables /authenticate creates and /send
	// writes.
	Schema singlestore.Schema
	// JSONColumns is how properties, traits and context are sent.
	JSONColumns singlestore.JSONMode
	// Concurrency is the number of requests one Write of a /send sink sends
	// at a time (see singlestore.WriterConfig); 0 means 1.
	Concurrency int
	// MaxClients bounds the Data API clients kept, least recently used
	// first out (DefaultMaxClients).
	MaxClients int
}

// Actions is the destination behind the actions-cli routes of the endpoint:
// it implements endpoint.Actions. It is safe for concurrent use.
type Actions struct {
	cfg      ActionsConfig
	manifest []byte

	// clients are the Data API clients by connection settings. One pushed
	// out is retired: sinks still holding it keep working; its idle
	// connections go.
	clients *lrucache.Cache[[32]byte, *dataapi.Client]
}

var _ endpoint.Actions = (*Actions)(nil)

// NewActions returns the Actions of the SingleStore destination.
func NewActions(cfg ActionsConfig) (*Actions, error) {
	if cfg.MaxClients == 0 {
		cfg.MaxClients = DefaultMaxClients
	}
	if cfg.MaxClients < 0 {
		return nil, fmt.Errorf("creating actions: MaxClients must be positive, got %d", cfg.MaxClients)
	}
	m, err := singlestore.Manifest()
	if err != nil {
		return nil, fmt.Errorf("creating actions: %w", err)
	}
	a := &Actions{cfg: cfg, manifest: m}
	a.clients, err = lrucache.New[[32]byte](cfg.MaxClients, func(c *dataapi.Client) {
		c.CloseIdleConnections()
		cfg.Connection.Metrics.Retire(c)
	})
	if err != nil {
		return nil, fmt.Errorf("creating actions: %w", err)
	}
	return a, nil
}

// Manifest returns the destination's definition as JSON.
func (a *Actions) Manifest() []byte { return a.manifest }

// Authenticate tests settings as Segment's testAuthentication does: it
// connects and creates the table (see Check). The error is a *CheckError,
// whose Fields name the settings at fault.
func (a *Actions) Authenticate(ctx context.Context, settings []byte) error {
	s, err := singlestore.ParseSettings(settings)
	if err != nil {
		return diagnose.SettingsProblem(err)
	}
	c, err := a.cfg.Connection.NewClient(s)
	if err != nil {
		return diagnose.SettingsProblem(err)
	}
	defer a.cfg.Connection.Metrics.Retire(c)
	defer c.CloseIdleConnections()
	_, err = diagnose.Check(ctx, c, a.cfg.Connection.TargetOf(s, a.cfg.Schema))
	return err
}

// Sink returns a Sink writing with settings, mapping and subscription. It
// does no I/O. Invalid settings, or a mapping or subscription that does not
// compile, are an error that fails every event of the request with 400.
func (a *Actions) Sink(settings, mapping []byte, subscription string) (endpoint.Sink, error) {
	s, err := singlestore.ParseSettings(settings)
	if err != nil {
		return nil, &sinkError{err: fmt.Errorf("reading settings: %w", err), fields: diagnose.SettingsFields(err)}
	}
	c, err := a.client(s)
	if err != nil {
		return nil, &sinkError{err: err}
	}
	sink, err := NewSink(singlestore.NewExecutor(c), SinkConfig{
		WriterConfig: singlestore.WriterConfig{
			Options: singlestore.Options{
				Mapping:      json.RawMessage(mapping),
				Subscription: subscription,
				Schema:       a.cfg.Schema,
				JSONColumns:  a.cfg.JSONColumns,
			},
			Database:    s.DBName,
			Table:       s.TableName,
			Concurrency: a.cfg.Concurrency,
		},
		ReportSent:         true,
		CreateMissingTable: true,
		Logger:             a.cfg.Connection.Logger,
		Metrics:            a.cfg.Connection.Metrics,
	})
	if err != nil {
		return nil, &sinkError{err: err}
	}
	return sink, nil
}

// client returns the cached client of the connection settings, making it
// on a miss. Keys are hashes, so no password stays in the cache's keys.
func (a *Actions) client(s singlestore.Settings) (*dataapi.Client, error) {
	return a.clients.GetOrMake(clientKey(s), func() (*dataapi.Client, error) { return a.cfg.Connection.NewClient(s) })
}

func clientKey(s singlestore.Settings) [32]byte {
	h := sha256.New()
	var n [8]byte
	for _, part := range []string{s.Host, s.Port, s.Username, s.Password, s.DBName} {
		binary.BigEndian.PutUint64(n[:], uint64(len(part)))
		h.Write(n[:])
		h.Write([]byte(part))
	}
	var k [32]byte
	h.Sum(k[:0])
	return k
}

// Clients returns the number of Data API clients kept.
func (a *Actions) Clients() int { return a.clients.Len() }

// sinkError is a destination configuration Sink refused: every event of the
// request fails with it, as a payload validation failure.
type sinkError struct {
	err    error
	fields map[string]string
}

func (e *sinkError) Error() string { return e.err.Error() }

func (e *sinkError) Unwrap() error { return e.err }

// ErrorType is the error type of the events it fails.
func (e *sinkError) ErrorType() string { return destination.TypePayloadValidationFailed }

// Fields names the settings at fault, when the settings were invalid.
func (e *sinkError) Fields() map[string]string { return e.fields }
