package repl

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
)

// maxLineBytes bounds one input line; longer lines are refused whole.
const maxLineBytes = 1 << 20

// errLineTooLong reports an input line over maxLineBytes.
var errLineTooLong = fmt.Errorf("input line longer than %d bytes", maxLineBytes)

// lineReader yields input lines without their line ending.
type lineReader interface {
	ReadLine() (string, error)
}

// plainReader reads lines from a pipe or file. A line over maxLineBytes is
// skipped up to its newline and reported as errLineTooLong; the next call
// continues with the following line.
type plainReader struct {
	r *bufio.Reader
}

func newPlainReader(r io.Reader) *plainReader {
	return &plainReader{r: bufio.NewReaderSize(r, 64<<10)}
}

// ReadLine implements lineReader. The last line may lack a newline.
func (p *plainReader) ReadLine() (string, error) {
	var buf []byte
	tooLong := false
	for {
		chunk, err := p.r.ReadSlice('\n')
		if !tooLong {
			if len(buf)+len(chunk) > maxLineBytes+2 { // +2: the line ending
				tooLong, buf = true, nil
			} else {
				buf = append(buf, chunk...)
			}
		}
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case err != nil && (len(buf) == 0 && !tooLong || !errors.Is(err, io.EOF)):
			return "", err
		}
		if tooLong {
			return "", errLineTooLong
		}
		return strings.TrimRight(string(buf), "\r\n"), nil
	}
}

// interruptFilter sits between the terminal and its input. In raw mode
// Ctrl-C arrives as a byte rather than a signal; while a turn is running
// the filter removes it and calls interrupt (the console sends /stop).
// Otherwise the byte passes and x/term ends input as for Ctrl-D.
type interruptFilter struct {
	r         io.Reader
	busy      func() bool
	interrupt func()
}

func (f *interruptFilter) Read(p []byte) (int, error) {
	for {
		n, err := f.r.Read(p)
		if n == 0 || bytes.IndexByte(p[:n], keyCtrlC) < 0 || !f.busy() {
			return n, err
		}
		kept := 0
		for _, b := range p[:n] {
			if b != keyCtrlC {
				p[kept] = b
				kept++
			}
		}
		f.interrupt()
		if kept > 0 || err != nil {
			return kept, err
		}
		// Only Ctrl-C was read: read again rather than return 0, nil.
	}
}

const keyCtrlC = 3
