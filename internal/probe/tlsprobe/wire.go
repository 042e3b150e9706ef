package tlsprobe

import "fmt"

// builder appends big-endian fields and length-prefixed vectors.
type builder struct{ b []byte }

func (w *builder) u8(v uint8)   { w.b = append(w.b, v) }
func (w *builder) u16(v uint16) { w.b = append(w.b, byte(v>>8), byte(v)) }
func (w *builder) bytes(p []byte) {
	w.b = append(w.b, p...)
}

// vec writes a vector whose length prefix is n bytes wide (1, 2 or 3);
// fill writes the contents.
func (w *builder) vec(n int, fill func()) {
	start := len(w.b)
	for range n {
		w.b = append(w.b, 0)
	}
	fill()
	l := len(w.b) - start - n
	for i := range n {
		w.b[start+i] = byte(l >> (8 * (n - 1 - i)))
	}
}

// reader consumes big-endian fields; the first failure sticks.
type reader struct {
	b   []byte
	err error
	ctx string
}

func (r *reader) fail(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s: %s", ErrMalformed, r.ctx, what)
	}
}

func (r *reader) take(n int, what string) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || len(r.b) < n {
		r.fail(what + " truncated")
		return nil
	}
	p := r.b[:n:n]
	r.b = r.b[n:]
	return p
}

func (r *reader) u8(what string) uint8 {
	p := r.take(1, what)
	if p == nil {
		return 0
	}
	return p[0]
}

func (r *reader) u16(what string) uint16 {
	p := r.take(2, what)
	if p == nil {
		return 0
	}
	return uint16(p[0])<<8 | uint16(p[1])
}

// vec reads a vector with an n-byte length prefix.
func (r *reader) vec(n int, what string) []byte {
	p := r.take(n, what+" length")
	if p == nil {
		return nil
	}
	l := 0
	for _, c := range p {
		l = l<<8 | int(c)
	}
	return r.take(l, what)
}

func (r *reader) empty() bool { return len(r.b) == 0 }
