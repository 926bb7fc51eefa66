package main

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/s2segment/s2segment/internal/eventsource"
	"github.com/s2segment/s2segment/internal/replay"
)

// plainProgressEvery is how often replay writes a progress line when
// standard error is not a terminal (a log file, a CI job).
var plainProgressEvery = 10 * time.Second

// countingFS opens the files of a run's inputs and counts the bytes read
// from them, for the progress display. Its base is where paths are resolved:
// nil for the operating system's paths as given (absolute or relative).
type countingFS struct {
	base fs.FS
	read atomic.Int64
}

var (
	_ fs.StatFS    = (*countingFS)(nil)
	_ fs.ReadDirFS = (*countingFS)(nil)
)

// Open opens name and counts what is read from it.
func (c *countingFS) Open(name string) (fs.File, error) {
	var f fs.File
	var err error
	if c.base != nil {
		f, err = c.base.Open(name)
	} else {
		f, err = os.Open(name)
	}
	if err != nil {
		return nil, err
	}
	return &countingFile{File: f, n: &c.read}, nil
}

// Stat describes name.
func (c *countingFS) Stat(name string) (fs.FileInfo, error) {
	if c.base != nil {
		return fs.Stat(c.base, name)
	}
	return os.Stat(name)
}

// ReadDir lists the directory name in name order.
func (c *countingFS) ReadDir(name string) ([]fs.DirEntry, error) {
	if c.base != nil {
		return fs.ReadDir(c.base, name)
	}
	return os.ReadDir(name)
}

type countingFile struct {
	fs.File
	n *atomic.Int64
}

func (f *countingFile) Read(p []byte) (int, error) {
	n, err := f.File.Read(p)
	f.n.Add(int64(n))
	return n, err
}

// countingReader counts the bytes read from standard input.
type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// inputSize adds up the sizes of the files paths name, walking directories
// as the reader does (names starting with "." are skipped, links to
// directories are not followed). It returns -1 when standard input is among
// the inputs. Files that cannot be read count as empty: the reader reports
// them.
func (c *countingFS) inputSize(paths []string) int64 {
	var total int64
	var walk func(name string, top bool)
	walk = func(name string, top bool) {
		info, err := c.Stat(name)
		if err != nil {
			return
		}
		switch {
		case info.IsDir():
			if !top {
				if l, err := c.lstat(name); err == nil && l.Mode()&fs.ModeSymlink != 0 {
					return
				}
			}
			entries, _ := c.ReadDir(name)
			for _, e := range entries {
				if !strings.HasPrefix(e.Name(), ".") {
					walk(join(c.base, name, e.Name()), false)
				}
			}
		case info.Mode().IsRegular():
			total += info.Size()
		}
	}
	if eventsource.ReadsStdin(paths) {
		return -1
	}
	for _, p := range paths {
		walk(p, true)
	}
	return total
}

func (c *countingFS) lstat(name string) (fs.FileInfo, error) {
	if c.base != nil {
		return fs.Stat(c.base, name) // embedded file systems have no links
	}
	return os.Lstat(name)
}

func join(base fs.FS, dir, name string) string {
	if base != nil || strings.HasSuffix(dir, "/") {
		return strings.TrimSuffix(dir, "/") + "/" + name
	}
	return dir + string(os.PathSeparator) + name
}

// progressDisplay shows a replay's progress: a bar on a terminal, or a plain
// line every plainProgressEvery otherwise. finish ends it for good, so that
// nothing it draws comes after what is printed next.
type progressDisplay struct {
	w     io.Writer
	input func() replay.Input

	mu     sync.Mutex
	last   replay.Progress
	start  time.Time
	bar    *progressbar.ProgressBar
	stop   chan struct{}
	done   chan struct{}
	closed bool
}

// newProgressDisplay starts the display on w: a bar when terminal, else
// periodic lines.
func newProgressDisplay(w io.Writer, terminal bool, input func() replay.Input) *progressDisplay {
	d := &progressDisplay{w: w, input: input, start: time.Now()}
	if terminal {
		total := input().Total
		d.bar = progressbar.NewOptions64(total,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription("replaying"),
			progressbar.OptionShowBytes(true),
			progressbar.OptionShowCount(),
			progressbar.OptionShowTotalBytes(true),
			progressbar.OptionSetPredictTime(false), // the ETA is in the description, named
			progressbar.OptionSetElapsedTime(true),
			progressbar.OptionSetWidth(24),
			progressbar.OptionSpinnerType(14),
			// No timer of the bar's own: it draws only when told, so
			// that once finished it never draws again.
			progressbar.OptionSetSpinnerChangeInterval(0),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionShowDescriptionAtLineEnd(),
		)
		return d
	}
	d.stop, d.done = make(chan struct{}), make(chan struct{})
	go d.tick()
	return d
}

// update takes the counts after a chunk (replay.Config.Progress).
func (d *progressDisplay) update(p replay.Progress) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return
	}
	d.last = p
	if d.bar != nil {
		in := d.input()
		desc := p.String()
		if eta, ok := in.ETA(p.Elapsed); ok {
			desc += ", ETA " + eta.String()
		}
		d.bar.Describe(desc)
		_ = d.bar.Set64(in.Read)
	}
}

func (d *progressDisplay) tick() {
	defer close(d.done)
	t := time.NewTicker(plainProgressEvery)
	defer t.Stop()
	for {
		select {
		case <-d.stop:
			return
		case <-t.C:
			d.mu.Lock()
			p := d.last
			p.Elapsed = time.Since(d.start)
			fmt.Fprintf(d.w, "replay progress: %s\n", p.Line(d.input()))
			d.mu.Unlock()
		}
	}
}

// finish ends the display: the bar is cleared from its line, the periodic
// lines stop. It is safe to call more than once.
func (d *progressDisplay) finish() {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return
	}
	d.closed = true
	if d.bar != nil {
		_ = d.bar.Exit()
		_ = d.bar.Clear()
	}
	d.mu.Unlock()
	if d.stop != nil {
		close(d.stop)
		<-d.done
	}
}
