package eventsource

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/s2segment/s2segment/internal/checked"
)

// StdinName is the Source of events read from standard input.
const StdinName = "<stdin>"

// StdinPath is the path that names standard input in [Open]'s paths.
const StdinPath = "-"

// ReadsStdin reports whether paths, as given to [Open], include standard
// input.
func ReadsStdin(paths []string) bool { return slices.Contains(paths, StdinPath) }

// slabSize is the size of the blocks that small events are copied into, so
// that delivering an event rarely allocates.
const slabSize = 64 << 10

// Reader delivers the events of a list of inputs, one at a time, in order. It
// is not safe for concurrent use.
type Reader struct {
	ctx   context.Context
	cfg   Config
	stdin io.Reader
	todo  []pending // inputs still to read, last first
	cur   *input
	slab  []byte
	mslab []checked.Member // members of events, as slab holds their bytes
	spare []byte           // the buffer of the last file, for the next one
	err   error            // io.EOF or the context's error, returned from then on
}

// pending is an input not yet opened: a path given by the caller, or an
// entry found in a directory.
type pending struct {
	path  string
	entry fs.DirEntry // nil for a path given by the caller
}

// Open returns a Reader over the events of paths: files, directories, and
// "-" for stdin (see the package documentation for the formats). It returns
// an error only for an unusable cfg; a path that cannot be read is reported by
// [Reader.Next] in its turn. ctx bounds the whole read: once it is done, Next
// returns its error. A read already blocked on stdin is not interrupted.
func Open(ctx context.Context, cfg Config, paths []string, stdin io.Reader) (*Reader, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	r := &Reader{ctx: ctx, cfg: cfg, stdin: stdin}
	for i := len(paths) - 1; i >= 0; i-- {
		r.todo = append(r.todo, pending{path: paths[i]})
	}
	return r, nil
}

// Next returns the next event. At the end of the inputs it returns io.EOF. For
// a problem with one value or one file it returns an [*Error], after which
// Next goes on with the rest. Once ctx is done it returns ctx's error. After
// io.EOF or ctx's error, every call returns the same error.
func (r *Reader) Next() (Event, error) {
	for {
		if r.err != nil {
			return Event{}, r.err
		}
		if err := r.ctx.Err(); err != nil {
			r.err = err
			r.closeCurrent()
			return Event{}, err
		}
		if r.cur == nil {
			if len(r.todo) == 0 {
				r.err = io.EOF
				return Event{}, io.EOF
			}
			p := r.todo[len(r.todo)-1]
			r.todo = r.todo[:len(r.todo)-1]
			if err := r.start(p); err != nil {
				return Event{}, err
			}
			continue
		}
		ev, err := r.cur.next(r)
		if err == io.EOF {
			r.closeCurrent()
			continue
		}
		return ev, err
	}
}

// All returns an iterator over the events and the per-value and per-file
// errors that [Reader.Next] returns, ending at the end of the inputs. If ctx
// is done first, its error is the last one yielded.
func (r *Reader) All() iter.Seq2[Event, error] {
	return func(yield func(Event, error) bool) {
		for {
			ev, err := r.Next()
			if err == io.EOF {
				return
			}
			if !yield(ev, err) {
				return
			}
			if err != nil && r.err != nil {
				return
			}
		}
	}
}

// Close releases the file being read. Next then returns io.EOF.
func (r *Reader) Close() error {
	r.closeCurrent()
	r.todo = nil
	if r.err == nil {
		r.err = io.EOF
	}
	return nil
}

func (r *Reader) closeCurrent() {
	if r.cur != nil {
		if r.cur.closer != nil {
			_ = r.cur.closer.Close() // read only: nothing to lose
		}
		if buf := r.cur.sc.buf; cap(buf) <= 4*readSize {
			r.spare = buf[:cap(buf)] // events never point into it
		}
		r.cur = nil
	}
}

// fileError reports a problem with a whole file.
func fileError(name string, err error) *Error {
	return &Error{Source: name, Index: -1, Offset: -1, Err: err}
}

// start opens p, or lists it when it is a directory, and sets r.cur or
// extends r.todo.
func (r *Reader) start(p pending) error {
	if p.path == StdinPath && p.entry == nil {
		if r.stdin == nil {
			return fileError(StdinName, errors.New("opening: no standard input"))
		}
		return r.startFile(StdinName, io.NopCloser(r.stdin))
	}
	isDir := false
	if p.entry == nil {
		info, err := r.stat(p.path)
		if err != nil {
			return fileError(p.path, fmt.Errorf("opening: %w", unwrapPath(err)))
		}
		isDir = info.IsDir()
	} else {
		t := p.entry.Type()
		switch {
		case t.IsDir():
			isDir = true
		case t&fs.ModeSymlink != 0:
			info, err := r.stat(p.path)
			if err != nil {
				return fileError(p.path, fmt.Errorf("opening: %w", unwrapPath(err)))
			}
			if !info.Mode().IsRegular() {
				return nil // links to directories are not followed
			}
		case !t.IsRegular():
			return nil // devices, sockets, pipes found in a directory
		}
	}
	if isDir {
		entries, err := r.readDir(p.path)
		for i := len(entries) - 1; i >= 0; i-- {
			e := entries[i]
			if strings.HasPrefix(e.Name(), ".") {
				continue
			}
			r.todo = append(r.todo, pending{path: r.join(p.path, e.Name()), entry: e})
		}
		if err != nil {
			return fileError(p.path, fmt.Errorf("listing directory: %w", unwrapPath(err)))
		}
		return nil
	}
	f, err := r.open(p.path)
	if err != nil {
		return fileError(p.path, fmt.Errorf("opening: %w", unwrapPath(err)))
	}
	return r.startFile(p.path, f)
}

// startFile sets up the reading of one file, decompressing it if it starts
// with the gzip magic bytes.
func (r *Reader) startFile(name string, f io.ReadCloser) error {
	var magic [2]byte
	n, err := io.ReadFull(f, magic[:])
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		_ = f.Close()
		return fileError(name, fmt.Errorf("reading: %w", unwrapPath(err)))
	}
	var src io.Reader = io.MultiReader(bytes.NewReader(magic[:n]), f)
	if n == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(src)
		if err != nil {
			_ = f.Close()
			if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
				err = fmt.Errorf("%w: the gzip header is cut short", ErrTruncated)
			} else {
				err = fmt.Errorf("decompressing: %w", err)
			}
			return fileError(name, err)
		}
		src = zr
	}
	r.cur = &input{name: name, closer: f}
	r.cur.sc = scanner{r: src, buf: r.spare, line: 1, mark: -1, badUTF8: -1}
	r.spare = nil
	return nil
}

func (r *Reader) stat(name string) (fs.FileInfo, error) {
	if r.cfg.FS != nil {
		return fs.Stat(r.cfg.FS, name)
	}
	return os.Stat(name)
}

func (r *Reader) readDir(name string) ([]fs.DirEntry, error) {
	if r.cfg.FS != nil {
		return fs.ReadDir(r.cfg.FS, name)
	}
	return os.ReadDir(name)
}

func (r *Reader) open(name string) (io.ReadCloser, error) {
	if r.cfg.FS != nil {
		return r.cfg.FS.Open(name)
	}
	return os.Open(name)
}

func (r *Reader) join(dir, name string) string {
	if r.cfg.FS != nil {
		return path.Join(dir, name)
	}
	return filepath.Join(dir, name)
}

// unwrapPath drops the *fs.PathError around err: the Error names the path.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// copyOut returns a copy of b that the caller owns.
func (r *Reader) copyOut(b []byte) []byte {
	if len(b) > slabSize/4 {
		return bytes.Clone(b)
	}
	if cap(r.slab)-len(r.slab) < len(b) {
		r.slab = make([]byte, 0, slabSize)
	}
	i := len(r.slab)
	r.slab = append(r.slab, b...)
	return r.slab[i:len(r.slab):len(r.slab)]
}

// copyMembers returns a copy of the members of an event that the caller
// owns, from a slab like copyOut's.
func (r *Reader) copyMembers(ms []checked.Member) []checked.Member {
	const slab = 4096
	if len(ms) > slab/4 {
		return append([]checked.Member(nil), ms...)
	}
	if cap(r.mslab)-len(r.mslab) < len(ms) {
		r.mslab = make([]checked.Member, 0, slab)
	}
	i := len(r.mslab)
	r.mslab = append(r.mslab, ms...)
	return r.mslab[i:len(r.mslab):len(r.mslab)]
}

// States of an input.
const (
	stStart      = iota // nothing read yet
	stArrayFirst        // after the '[' of a top-level array
	stArrayElem         // an array element is expected (after ',' or a resync)
	stArrayNext         // ',' or ']' is expected after an array element
	stStream            // top-level values
	stDone              // nothing more to read
)

// input is one file being read.
type input struct {
	name   string
	closer io.Closer
	sc     scanner
	state  int
	index  int // ordinal of the next top-level value
	elem   int // index of the next array element
	col    int // column where the last array element started
	// valueLine is the line where the last top-level value of a stream
	// started, and lineCol the column of the first value that started on
	// that line.
	valueLine int
	lineCol   int
	batch     *batchIter
	failed    bool // the read error that ended the input has been reported
}

// utf8BOM is skipped at the start of an input.
var utf8BOM = []byte{0xef, 0xbb, 0xbf}

// next returns the next event of the input, an *Error, or io.EOF.
func (in *input) next(r *Reader) (Event, error) {
	s := &in.sc
	for {
		if in.batch != nil {
			ev, err, ok := in.batch.next(r.copyOut)
			if ok {
				ev.Source = in.name
				if err != nil {
					err.(*Error).Source = in.name
				}
				return ev, err
			}
			in.batch = nil
			s.mark = -1
		}
		switch in.state {
		case stStart:
			s.need(len(utf8BOM))
			if bytes.HasPrefix(s.buf[s.pos:s.end], utf8BOM) {
				s.pos += len(utf8BOM)
				s.lineOff = s.offset(s.pos)
			}
			c, ok := s.skipSpace()
			if !ok {
				return in.end()
			}
			in.state = stStream
			if c == '[' {
				s.pos++
				in.state = stArrayFirst
				in.index++ // the array is the first top-level value
			}
		case stArrayFirst, stArrayElem, stArrayNext:
			ev, err, ok := in.nextElement(r)
			if ok {
				return ev, err
			}
		case stStream:
			return in.nextValue(r)
		default:
			return Event{}, io.EOF
		}
	}
}

// end finishes the input, returning the read error that ended it, if any
// has not been reported, or io.EOF.
func (in *input) end() (Event, error) {
	in.state = stDone
	if err := in.sc.readError(); err != nil && !in.failed {
		in.failed = true
		return Event{}, &Error{Source: in.name, Format: FormatStream, Line: in.sc.line, Index: -1,
			Offset: in.sc.offset(in.sc.pos), Err: err}
	}
	return Event{}, io.EOF
}

// position is where a value starts.
type position struct {
	line    int
	lineOff int64
	off     int64
	col     int
}

func (s *scanner) position() position {
	off := s.offset(s.pos)
	return position{line: s.line, lineOff: s.lineOff, off: off, col: int(off - s.lineOff)}
}

// nextValue reads a top-level value of a stream.
func (in *input) nextValue(r *Reader) (Event, error) {
	s := &in.sc
	c, ok := s.skipSpace()
	if !ok {
		return in.end()
	}
	at := s.position()
	if at.line != in.valueLine {
		in.valueLine, in.lineCol = at.line, at.col
	}
	s.mark, s.over, s.limit, s.keys, s.record = s.pos, false, r.cfg.MaxBatchBytes, true, true
	index := in.index
	in.index++
	fail := func(err error) (Event, error) {
		s.mark = -1
		return Event{}, &Error{Source: in.name, Format: FormatStream, Line: at.line, Index: index, Offset: at.off, Err: err}
	}
	if err := s.scanValue(); err != nil {
		// A value that breaks on the line where it started is a broken
		// line of NDJSON (or text after a value on that line): reading
		// resumes at the next line that starts a value, at any column. One
		// that breaks on a later line is a multi-line value: the next value
		// is looked for at the column where values on its first line start,
		// so that the nested members of a broken pretty-printed value are
		// not read as events.
		col := anyColumn
		if s.line != at.line {
			col = in.lineCol
		}
		return fail(in.recover(err, at, col))
	}
	if c != '{' {
		return fail(fmt.Errorf("%w, got %s", ErrNotObject, kindOf(c)))
	}
	size := s.offset(s.pos) - at.off
	if s.batchKey && !s.over && size <= int64(r.cfg.MaxBatchBytes) {
		b, isBatch := newBatchIter(s.buf[s.mark:s.pos], at, r.cfg.MaxEventBytes)
		if isBatch {
			in.batch = b
			return in.next(r)
		}
	}
	if s.over || size > int64(r.cfg.MaxBatchBytes) {
		return fail(fmt.Errorf("%w: the value is %d bytes, over the limit of %d", ErrTooLarge, size, r.cfg.MaxBatchBytes))
	}
	if size > int64(r.cfg.MaxEventBytes) {
		return fail(fmt.Errorf("%w: the event is %d bytes, over the limit of %d", ErrTooLarge, size, r.cfg.MaxEventBytes))
	}
	if s.badUTF8 >= 0 {
		return fail(fmt.Errorf("%w at byte %d", ErrInvalidUTF8, s.badUTF8))
	}
	ev := Event{Data: r.copyOut(s.buf[s.mark:s.pos]), Source: in.name, Format: FormatStream,
		Line: at.line, Index: index, Offset: at.off}
	ev.checked = checked.Trust(ev.Data, r.copyMembers(s.found))
	s.mark = -1
	return ev, nil
}

// nextElement reads the next element of a top-level array. ok is false when
// the array ended.
func (in *input) nextElement(r *Reader) (ev Event, err error, ok bool) {
	s := &in.sc
	if in.state == stArrayNext {
		at := s.position()
		s.mark = s.pos
		c, ok := s.skipSpace()
		switch {
		case ok && c == ',':
			s.pos++
			s.mark = -1
			in.state = stArrayElem
		case ok && c == ']':
			s.pos++
			s.mark = -1
			in.state = stStream
			return Event{}, nil, false
		default:
			err := s.syntaxError("',' or ']' after an array element")
			errAt := s.position()
			in.state = stArrayElem
			return Event{}, &Error{Source: in.name, Format: FormatArray, Line: errAt.line, Index: in.elem - 1,
				Offset: errAt.off, Err: in.recover(err, at, in.col)}, true
		}
	}
	c, ok := s.skipSpace()
	if in.state == stArrayFirst && ok && c == ']' {
		s.pos++
		in.state = stStream
		return Event{}, nil, false
	}
	at := s.position()
	index := in.elem
	in.elem++
	in.col = at.col
	in.state = stArrayNext
	s.mark, s.over, s.limit, s.keys, s.record = s.pos, false, r.cfg.MaxEventBytes, false, true
	fail := func(err error) (Event, error, bool) {
		s.mark = -1
		return Event{}, &Error{Source: in.name, Format: FormatArray, Line: at.line, Index: index, Offset: at.off, Err: err}, true
	}
	if !ok {
		return fail(in.recover(s.syntaxError("an array element"), at, at.col))
	}
	if err := s.scanValue(); err != nil {
		err = in.recover(err, at, at.col)
		if in.state != stDone {
			in.state = stArrayElem
		}
		return fail(err)
	}
	if c != '{' {
		return fail(fmt.Errorf("%w, got %s", ErrNotObject, kindOf(c)))
	}
	if size := s.offset(s.pos) - at.off; s.over || size > int64(r.cfg.MaxEventBytes) {
		return fail(fmt.Errorf("%w: the event is %d bytes, over the limit of %d", ErrTooLarge, size, r.cfg.MaxEventBytes))
	}
	if s.badUTF8 >= 0 {
		return fail(fmt.Errorf("%w at byte %d", ErrInvalidUTF8, s.badUTF8))
	}
	ev = Event{Data: r.copyOut(s.buf[s.mark:s.pos]), Source: in.name, Format: FormatArray,
		Line: at.line, Index: index, Offset: at.off}
	ev.checked = checked.Trust(ev.Data, r.copyMembers(s.found))
	s.mark = -1
	return ev, nil, true
}

// recover moves past a syntax error in the value that started at at, and
// returns err with a note of where reading resumes. See resync.
func (in *input) recover(err error, at position, col int) error {
	s := &in.sc
	if s.readErr != nil {
		in.failed = true // err already says why the input stopped
	}
	errOff := s.offset(s.pos)
	if s.resync(at, col) {
		return fmt.Errorf("%w; reading resumes at line %d", err, s.line)
	}
	in.state = stDone
	if s.offset(s.end) <= errOff {
		return err
	}
	return fmt.Errorf("%w; the rest of the input is skipped", err)
}

// anyColumn is the column given to resync to accept a value at any column.
const anyColumn = -1

// resync moves pos to the first line after the line of at (or after pos, when
// the bytes from at have been dropped) whose first byte other than spaces and
// tabs is '{' or '[' at column col (at any column for anyColumn), and reports
// whether there is one.
func (s *scanner) resync(at position, col int) bool {
	if s.mark >= 0 {
		s.pos, s.line, s.lineOff = s.mark, at.line, at.lineOff
	}
	s.mark = -1
	for {
		for {
			if i := bytes.IndexByte(s.buf[s.pos:s.end], '\n'); i >= 0 {
				s.pos += i + 1
				s.line++
				s.lineOff = s.offset(s.pos)
				break
			}
			s.pos = s.end
			if !s.more() {
				return false
			}
		}
		for n := 0; ; n++ {
			c, ok := s.peek()
			if !ok {
				return false
			}
			if c == ' ' || c == '\t' {
				s.pos++
				continue
			}
			if (n == col || col == anyColumn) && (c == '{' || c == '[') {
				return true
			}
			break
		}
	}
}
