package svc

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/rampart-cert/rampart/internal/check"
)

// runMongo sends listDatabases to the admin database in an OP_MSG: a
// server that answers ok with a list lets anyone read every database.
func runMongo(ctx context.Context, env *check.Env, t check.Target, m check.Meta) ([]check.Result, error) {
	c, err := conn(ctx, env, t)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	if _, err := c.Write(mongoListDatabases(1)); err != nil {
		return nil, fmt.Errorf("%w: %v", check.ErrUnreachable, err)
	}
	var hdr [16]byte
	if _, err := io.ReadFull(c, hdr[:]); err != nil {
		return nil, nil
	}
	n := int(binary.LittleEndian.Uint32(hdr[0:4]))
	if n < 16 || n > maxReply {
		return nil, nil
	}
	body := make([]byte, n-16)
	if _, err := io.ReadFull(c, body); err != nil {
		return nil, nil
	}
	reply, err := ParseMongoReply(binary.LittleEndian.Uint32(hdr[12:16]), body)
	if err != nil || !reply.OK || reply.Databases < 0 {
		return nil, nil
	}
	return []check.Result{result(m, m.Severity, fmt.Sprintf("MongoDB lists its %d databases without authentication", reply.Databases),
		check.Evidence{Request: "OP_MSG {listDatabases: 1, nameOnly: true, $db: \"admin\"}",
			Fields: map[string]string{"databases": fmt.Sprint(reply.Databases), "names": reply.Names}})}, nil
}

// mongoListDatabases builds the OP_MSG of the command.
func mongoListDatabases(requestID uint32) []byte {
	doc := bsonDoc(
		bsonInt32("listDatabases", 1),
		bsonBool("nameOnly", true),
		bsonString("$db", "admin"),
	)
	msg := make([]byte, 16, 16+5+len(doc))
	msg = binary.LittleEndian.AppendUint32(msg, 0) // flagBits
	msg = append(msg, 0)                           // section kind 0: body
	msg = append(msg, doc...)
	binary.LittleEndian.PutUint32(msg[0:4], uint32(len(msg)))
	binary.LittleEndian.PutUint32(msg[4:8], requestID)
	binary.LittleEndian.PutUint32(msg[12:16], 2013) // OP_MSG
	return msg
}

func bsonDoc(elems ...[]byte) []byte {
	size := 5
	for _, e := range elems {
		size += len(e)
	}
	out := binary.LittleEndian.AppendUint32(nil, uint32(size))
	for _, e := range elems {
		out = append(out, e...)
	}
	return append(out, 0)
}

func bsonInt32(name string, v int32) []byte {
	out := append([]byte{0x10}, name...)
	out = append(out, 0)
	return binary.LittleEndian.AppendUint32(out, uint32(v))
}

func bsonBool(name string, v bool) []byte {
	out := append([]byte{0x08}, name...)
	out = append(out, 0)
	if v {
		return append(out, 1)
	}
	return append(out, 0)
}

func bsonString(name, v string) []byte {
	out := append([]byte{0x02}, name...)
	out = append(out, 0)
	out = binary.LittleEndian.AppendUint32(out, uint32(len(v)+1))
	out = append(out, v...)
	return append(out, 0)
}

// MongoReply is what the check needs from a listDatabases answer.
type MongoReply struct {
	OK        bool
	Databases int    // -1 when the reply has no databases array
	Names     string // the first few names
	ErrMsg    string
}

var errBSON = errors.New("svc: malformed BSON")

// ParseMongoReply reads an OP_MSG (2013) body, or a legacy OP_REPLY (1)
// body, and the fields of its first document that matter here.
func ParseMongoReply(opCode uint32, body []byte) (MongoReply, error) {
	var doc []byte
	switch opCode {
	case 2013:
		if len(body) < 5 || body[4] != 0 {
			return MongoReply{}, errBSON
		}
		doc = body[5:]
	case 1:
		if len(body) < 20 {
			return MongoReply{}, errBSON
		}
		doc = body[20:]
	default:
		return MongoReply{}, fmt.Errorf("%w: opcode %d", errBSON, opCode)
	}
	r := MongoReply{Databases: -1}
	err := bsonWalk(doc, func(typ byte, name string, val []byte) error {
		switch name {
		case "ok":
			switch typ {
			case 0x01:
				r.OK = math.Float64frombits(binary.LittleEndian.Uint64(val)) == 1
			case 0x10:
				r.OK = binary.LittleEndian.Uint32(val) == 1
			case 0x12:
				r.OK = binary.LittleEndian.Uint64(val) == 1
			case 0x08:
				r.OK = val[0] == 1
			}
		case "errmsg":
			if typ == 0x02 && len(val) > 4 {
				r.ErrMsg = string(val[4 : len(val)-1])
			}
		case "databases":
			if typ != 0x04 {
				return nil
			}
			r.Databases = 0
			var names []string
			return bsonWalk(val, func(typ byte, _ string, dbv []byte) error {
				r.Databases++
				if typ == 0x03 && len(names) < 10 {
					_ = bsonWalk(dbv, func(t byte, n string, v []byte) error {
						if n == "name" && t == 0x02 && len(v) > 4 {
							names = append(names, string(v[4:len(v)-1]))
						}
						return nil
					})
				}
				r.Names = fmt.Sprint(names)
				return nil
			})
		}
		return nil
	})
	return r, err
}

// bsonWalk calls fn for each element of a document with its raw value.
func bsonWalk(doc []byte, fn func(typ byte, name string, val []byte) error) error {
	if len(doc) < 5 {
		return errBSON
	}
	size := int(binary.LittleEndian.Uint32(doc))
	if size < 5 || size > len(doc) {
		return errBSON
	}
	p := doc[4 : size-1]
	for len(p) > 0 {
		typ := p[0]
		p = p[1:]
		end := 0
		for end < len(p) && p[end] != 0 {
			end++
		}
		if end == len(p) {
			return errBSON
		}
		name := string(p[:end])
		p = p[end+1:]
		n, err := bsonValueLen(typ, p)
		if err != nil {
			return err
		}
		if err := fn(typ, name, p[:n]); err != nil {
			return err
		}
		p = p[n:]
	}
	return nil
}

func bsonValueLen(typ byte, p []byte) (int, error) {
	fixed := map[byte]int{0x01: 8, 0x07: 12, 0x08: 1, 0x09: 8, 0x0A: 0, 0x10: 4, 0x11: 8, 0x12: 8, 0x13: 16, 0xFF: 0, 0x7F: 0}
	if n, ok := fixed[typ]; ok {
		if n > len(p) {
			return 0, errBSON
		}
		return n, nil
	}
	if len(p) < 4 {
		return 0, errBSON
	}
	l := int(int32(binary.LittleEndian.Uint32(p)))
	var n int
	switch typ {
	case 0x02, 0x0D, 0x0E: // string, code, symbol
		n = 4 + l
	case 0x03, 0x04: // document, array
		n = l
	case 0x05: // binary
		n = 5 + l
	default:
		return 0, fmt.Errorf("%w: type 0x%02x", errBSON, typ)
	}
	if l < 0 || n < 4 || n > len(p) {
		return 0, errBSON
	}
	return n, nil
}
