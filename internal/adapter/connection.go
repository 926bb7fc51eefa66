package adapter

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/s2segment/s2segment/dataapi"
	"github.com/s2segment/s2segment/destination/singlestore"
	"github.com/s2segment/s2segment/internal/diagnose"
)

// Connection says how the endpoint talks to every Data API it writes to,
// whichever host the settings name: the scheme, the certificate authorities
// trusted, and the client's limits. The zero value is https with the
// system's certificate authorities and dataapi's defaults.
type Connection struct {
	// Scheme is "https" (the default) or "http", for development
	// deployments such as the dev image on port 9000.
	Scheme string
	// CACert is PEM-encoded certificate authorities to trust for https, in
	// addition to the system's.
	CACert []byte
	// InsecureSkipVerify turns certificate verification off (development
	// only).
	InsecureSkipVerify bool
	// Timeout bounds each attempt of a request (dataapi.DefaultTimeout).
	Timeout time.Duration
	// MaxAttempts bounds the attempts of one request, the first included
	// (dataapi.DefaultMaxAttempts).
	MaxAttempts int
	// MaxInFlight bounds the requests in flight per client
	// (dataapi.DefaultMaxInFlight).
	MaxInFlight int
	// Logger receives the clients' retry messages, without credentials;
	// nil discards them.
	Logger *slog.Logger
	// Metrics, when set, counts the work of every client made.
	Metrics *ClientMetrics
}

// scheme returns the scheme in use.
func (c Connection) scheme() string {
	if c.Scheme == "" {
		return dataapi.DefaultScheme
	}
	return c.Scheme
}

// NewClient returns a Data API client for the settings: their host, port,
// user, password and database, spoken to as c says. It does not connect.
func (c Connection) NewClient(s singlestore.Settings) (*dataapi.Client, error) {
	cl, err := dataapi.New(dataapi.Config{
		Host:               s.Host,
		Port:               s.Port,
		Scheme:             c.Scheme,
		User:               s.Username,
		Password:           s.Password,
		Database:           s.DBName,
		CACert:             c.CACert,
		InsecureSkipVerify: c.InsecureSkipVerify,
		Timeout:            c.Timeout,
		MaxAttempts:        c.MaxAttempts,
		MaxInFlight:        c.MaxInFlight,
		Logger:             c.Logger,
	})
	if err != nil {
		return nil, fmt.Errorf("creating Data API client: %w", err)
	}
	c.Metrics.track(cl)
	return cl, nil
}

// TargetOf describes where settings point, spoken to with c, for Check.
func (c Connection) TargetOf(s singlestore.Settings, schema singlestore.Schema) diagnose.Target {
	port := s.Port
	if port == "" {
		port = map[string]string{"https": "443", "http": "80"}[c.scheme()]
	}
	table := s.TableName
	if table == "" {
		table = singlestore.DefaultTable
	}
	return diagnose.Target{
		Scheme: c.scheme(), Host: s.Host, Port: port, User: s.Username,
		Database: s.DBName, Table: table, Schema: schema,
	}
}
