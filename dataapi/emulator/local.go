package emulator

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// The HTTP server's limits: how long a connection may take to send a
// request's headers, and how long Close waits for requests in flight.
const (
	readHeaderTimeout = 10 * time.Second
	shutdownTimeout   = 10 * time.Second
)

// Local is a Server served over real HTTP by this process, as Listen and
// Start return it. It owns the Server and the listener: Close stops
// serving and closes both. Its methods are safe for concurrent use.
type Local struct {
	srv        *Server
	hs         *http.Server
	scheme     string
	host, port string

	done     chan struct{} // closed when Serve has returned
	serveErr error         // why Serve returned, unless Close stopped it; set before done closes

	closeOnce sync.Once
	closeErr  error
}

// Listen starts a Server with cfg (as New does) and serves it over plain
// HTTP on a free loopback port, 127.0.0.1, until Close. It fails with New's
// error (a *ConfigError for an invalid cfg), with ctx's error when ctx is
// done before it listens, or with the error of listening.
func Listen(ctx context.Context, cfg Config) (*Local, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("starting the emulator: %w", err)
	}
	srv, err := New(cfg)
	if err != nil {
		return nil, err
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		_ = srv.Close()
		return nil, fmt.Errorf("listening on a loopback port: %w", err)
	}
	return Start(srv, ln, nil), nil
}

// Start serves srv over HTTP on ln in the background and returns at once;
// with tlsConfig non-nil it serves HTTPS with it. It takes srv and ln over:
// Close stops serving and closes both. Use it to serve on an address of
// one's choosing; Listen serves on a loopback port.
func Start(srv *Server, ln net.Listener, tlsConfig *tls.Config) *Local {
	l := &Local{
		srv:    srv,
		hs:     &http.Server{Handler: srv, ReadHeaderTimeout: readHeaderTimeout},
		scheme: "http",
		done:   make(chan struct{}),
	}
	addr := ln.Addr().String()
	var err error
	if l.host, l.port, err = net.SplitHostPort(addr); err != nil {
		l.host = addr // not a host:port address, such as a Unix socket's path
	}
	if tlsConfig != nil {
		l.scheme = "https"
		ln = tls.NewListener(ln, tlsConfig)
	}
	go func() {
		defer close(l.done)
		if err := l.hs.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			l.serveErr = fmt.Errorf("serving: %w", err)
		}
	}()
	return l
}

// URL is the base URL of the Data API, such as http://127.0.0.1:41231.
func (l *Local) URL() string { return l.scheme + "://" + net.JoinHostPort(l.host, l.port) }

// Host is the host of the listener's address, such as 127.0.0.1.
func (l *Local) Host() string { return l.host }

// Port is the port of the listener's address, such as 41231.
func (l *Local) Port() string { return l.port }

// Server is the Server being served, for its Stats, Engine and the like.
// Close closes it; closing it alone leaves requests failing.
func (l *Local) Server() *Server { return l.srv }

// Done is closed when serving stops: after Close, or when the listener
// fails (then Err says why).
func (l *Local) Done() <-chan struct{} { return l.done }

// Err reports why serving stopped on its own, such as a listener that
// failed to accept. It is nil while serving and when Close stopped it.
func (l *Local) Err() error {
	select {
	case <-l.done:
		return l.serveErr
	default:
		return nil
	}
}

// Close stops accepting connections, lets the requests in flight finish
// (waiting at most 10 seconds, then cutting their connections), and closes
// the Server, which for the embedded engine drops the data. Once it has
// returned the port refuses connections. It is idempotent: later calls
// return the first call's error.
func (l *Local) Close() error {
	l.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		var errs []error
		if err := l.hs.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("shutting down the HTTP server: %w", err))
			_ = l.hs.Close() // cut the requests that outlived the wait
		}
		<-l.done
		if err := l.srv.Close(); err != nil {
			errs = append(errs, fmt.Errorf("closing the emulator: %w", err))
		}
		l.closeErr = errors.Join(errs...)
	})
	return l.closeErr
}
