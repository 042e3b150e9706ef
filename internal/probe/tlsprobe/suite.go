package tlsprobe

import (
	"fmt"
	"strings"
	"sync"
)

// Class is a set of properties of a cipher suite that make it weak.
type Class uint8

// The weak classes. A suite may be in several (TLS_DH_anon_EXPORT_WITH_RC4_40_MD5
// is anonymous, export-grade and RC4).
const (
	ClassRC4    Class = 1 << iota // RC4 stream cipher (RFC 7465 forbids it)
	Class3DES                     // 64-bit block, Sweet32 (CVE-2016-2183)
	ClassDES                      // single DES, 56-bit key
	ClassNULL                     // no encryption at all
	ClassExport                   // export-grade, 40 or 56-bit (FREAK, Logjam)
	ClassAnon                     // no server authentication (trivial man in the middle)
	ClassTLS13                    // a TLS 1.3 suite (not weak; only offered to TLS 1.3)
)

// WeakClasses is every class that makes a suite weak.
const WeakClasses = ClassRC4 | Class3DES | ClassDES | ClassNULL | ClassExport | ClassAnon

var classNames = []struct {
	c    Class
	name string
}{
	{ClassRC4, "RC4"}, {Class3DES, "3DES"}, {ClassDES, "DES"}, {ClassNULL, "NULL"},
	{ClassExport, "EXPORT"}, {ClassAnon, "anonymous"}, {ClassTLS13, "TLS1.3"},
}

// String lists the classes in c, "+"-separated.
func (c Class) String() string {
	var parts []string
	for _, n := range classNames {
		if c&n.c != 0 {
			parts = append(parts, n.name)
		}
	}
	return strings.Join(parts, "+")
}

// Suite is a cipher suite this package knows by name.
type Suite struct {
	ID    uint16
	Name  string // the IANA name
	Class Class
}

// Weak reports whether s belongs to a weak class.
func (s Suite) Weak() bool { return s.Class&WeakClasses != 0 }

const (
	rc4  = ClassRC4
	des3 = Class3DES
	des  = ClassDES
	null = ClassNULL
	exp  = ClassExport
	anon = ClassAnon
)

// suites is the catalog: every suite a probe offers. It is wide on purpose
// (CAMELLIA, SEED, static DH/ECDH) so that a server accepting a protocol
// version with any suite at all is seen accepting it.
var suites = []Suite{
	// TLS 1.3 (RFC 8446).
	{0x1301, "TLS_AES_128_GCM_SHA256", ClassTLS13},
	{0x1302, "TLS_AES_256_GCM_SHA384", ClassTLS13},
	{0x1303, "TLS_CHACHA20_POLY1305_SHA256", ClassTLS13},
	{0x1304, "TLS_AES_128_CCM_SHA256", ClassTLS13},
	{0x1305, "TLS_AES_128_CCM_8_SHA256", ClassTLS13},

	// ECDHE with AEAD (RFC 5289, 7905, 7251).
	{0xC02B, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", 0},
	{0xC02C, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", 0},
	{0xC02F, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", 0},
	{0xC030, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", 0},
	{0xCCA8, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", 0},
	{0xCCA9, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", 0},
	{0xC0AC, "TLS_ECDHE_ECDSA_WITH_AES_128_CCM", 0},
	{0xC0AD, "TLS_ECDHE_ECDSA_WITH_AES_256_CCM", 0},
	// DHE and RSA with AEAD (RFC 5288, 6655, 7905).
	{0x009E, "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256", 0},
	{0x009F, "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384", 0},
	{0xCCAA, "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256", 0},
	{0x009C, "TLS_RSA_WITH_AES_128_GCM_SHA256", 0},
	{0x009D, "TLS_RSA_WITH_AES_256_GCM_SHA384", 0},
	{0xC09C, "TLS_RSA_WITH_AES_128_CCM", 0},
	{0xC09D, "TLS_RSA_WITH_AES_256_CCM", 0},
	{0x00A2, "TLS_DHE_DSS_WITH_AES_128_GCM_SHA256", 0},
	{0x00A3, "TLS_DHE_DSS_WITH_AES_256_GCM_SHA384", 0},
	{0xC02D, "TLS_ECDH_ECDSA_WITH_AES_128_GCM_SHA256", 0},
	{0xC02E, "TLS_ECDH_ECDSA_WITH_AES_256_GCM_SHA384", 0},
	{0xC031, "TLS_ECDH_RSA_WITH_AES_128_GCM_SHA256", 0},
	{0xC032, "TLS_ECDH_RSA_WITH_AES_256_GCM_SHA384", 0},

	// CBC with AES, CAMELLIA, SEED, IDEA.
	{0xC009, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", 0},
	{0xC00A, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", 0},
	{0xC013, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", 0},
	{0xC014, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", 0},
	{0xC023, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256", 0},
	{0xC024, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384", 0},
	{0xC027, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256", 0},
	{0xC028, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384", 0},
	{0x0033, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA", 0},
	{0x0039, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA", 0},
	{0x0067, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256", 0},
	{0x006B, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256", 0},
	{0x0032, "TLS_DHE_DSS_WITH_AES_128_CBC_SHA", 0},
	{0x0038, "TLS_DHE_DSS_WITH_AES_256_CBC_SHA", 0},
	{0x0040, "TLS_DHE_DSS_WITH_AES_128_CBC_SHA256", 0},
	{0x006A, "TLS_DHE_DSS_WITH_AES_256_CBC_SHA256", 0},
	{0x002F, "TLS_RSA_WITH_AES_128_CBC_SHA", 0},
	{0x0035, "TLS_RSA_WITH_AES_256_CBC_SHA", 0},
	{0x003C, "TLS_RSA_WITH_AES_128_CBC_SHA256", 0},
	{0x003D, "TLS_RSA_WITH_AES_256_CBC_SHA256", 0},
	{0x0030, "TLS_DH_DSS_WITH_AES_128_CBC_SHA", 0},
	{0x0031, "TLS_DH_RSA_WITH_AES_128_CBC_SHA", 0},
	{0x0036, "TLS_DH_DSS_WITH_AES_256_CBC_SHA", 0},
	{0x0037, "TLS_DH_RSA_WITH_AES_256_CBC_SHA", 0},
	{0xC004, "TLS_ECDH_ECDSA_WITH_AES_128_CBC_SHA", 0},
	{0xC005, "TLS_ECDH_ECDSA_WITH_AES_256_CBC_SHA", 0},
	{0xC00E, "TLS_ECDH_RSA_WITH_AES_128_CBC_SHA", 0},
	{0xC00F, "TLS_ECDH_RSA_WITH_AES_256_CBC_SHA", 0},
	{0xC025, "TLS_ECDH_ECDSA_WITH_AES_128_CBC_SHA256", 0},
	{0xC026, "TLS_ECDH_ECDSA_WITH_AES_256_CBC_SHA384", 0},
	{0xC029, "TLS_ECDH_RSA_WITH_AES_128_CBC_SHA256", 0},
	{0xC02A, "TLS_ECDH_RSA_WITH_AES_256_CBC_SHA384", 0},
	{0x0041, "TLS_RSA_WITH_CAMELLIA_128_CBC_SHA", 0},
	{0x0084, "TLS_RSA_WITH_CAMELLIA_256_CBC_SHA", 0},
	{0x0045, "TLS_DHE_RSA_WITH_CAMELLIA_128_CBC_SHA", 0},
	{0x0088, "TLS_DHE_RSA_WITH_CAMELLIA_256_CBC_SHA", 0},
	{0x0044, "TLS_DHE_DSS_WITH_CAMELLIA_128_CBC_SHA", 0},
	{0x0087, "TLS_DHE_DSS_WITH_CAMELLIA_256_CBC_SHA", 0},
	{0x0096, "TLS_RSA_WITH_SEED_CBC_SHA", 0},
	{0x009A, "TLS_DHE_RSA_WITH_SEED_CBC_SHA", 0},
	{0x0007, "TLS_RSA_WITH_IDEA_CBC_SHA", 0},

	// RC4 (RFC 7465 prohibits it).
	{0x0005, "TLS_RSA_WITH_RC4_128_SHA", rc4},
	{0x0004, "TLS_RSA_WITH_RC4_128_MD5", rc4},
	{0xC011, "TLS_ECDHE_RSA_WITH_RC4_128_SHA", rc4},
	{0xC007, "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA", rc4},
	{0xC00C, "TLS_ECDH_RSA_WITH_RC4_128_SHA", rc4},
	{0xC002, "TLS_ECDH_ECDSA_WITH_RC4_128_SHA", rc4},
	// 3DES (Sweet32).
	{0x000A, "TLS_RSA_WITH_3DES_EDE_CBC_SHA", des3},
	{0xC012, "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA", des3},
	{0xC008, "TLS_ECDHE_ECDSA_WITH_3DES_EDE_CBC_SHA", des3},
	{0x0016, "TLS_DHE_RSA_WITH_3DES_EDE_CBC_SHA", des3},
	{0x0013, "TLS_DHE_DSS_WITH_3DES_EDE_CBC_SHA", des3},
	{0x000D, "TLS_DH_DSS_WITH_3DES_EDE_CBC_SHA", des3},
	{0x0010, "TLS_DH_RSA_WITH_3DES_EDE_CBC_SHA", des3},
	{0xC003, "TLS_ECDH_ECDSA_WITH_3DES_EDE_CBC_SHA", des3},
	{0xC00D, "TLS_ECDH_RSA_WITH_3DES_EDE_CBC_SHA", des3},
	// Single DES.
	{0x0009, "TLS_RSA_WITH_DES_CBC_SHA", des},
	{0x0015, "TLS_DHE_RSA_WITH_DES_CBC_SHA", des},
	{0x0012, "TLS_DHE_DSS_WITH_DES_CBC_SHA", des},
	{0x000C, "TLS_DH_DSS_WITH_DES_CBC_SHA", des},
	{0x000F, "TLS_DH_RSA_WITH_DES_CBC_SHA", des},
	// NULL encryption.
	{0x0001, "TLS_RSA_WITH_NULL_MD5", null},
	{0x0002, "TLS_RSA_WITH_NULL_SHA", null},
	{0x003B, "TLS_RSA_WITH_NULL_SHA256", null},
	{0xC006, "TLS_ECDHE_ECDSA_WITH_NULL_SHA", null},
	{0xC010, "TLS_ECDHE_RSA_WITH_NULL_SHA", null},
	{0xC001, "TLS_ECDH_ECDSA_WITH_NULL_SHA", null},
	{0xC00B, "TLS_ECDH_RSA_WITH_NULL_SHA", null},
	// Export grade (RFC 2246 appendix A.5; FREAK, Logjam).
	{0x0003, "TLS_RSA_EXPORT_WITH_RC4_40_MD5", exp | rc4},
	{0x0006, "TLS_RSA_EXPORT_WITH_RC2_CBC_40_MD5", exp},
	{0x0008, "TLS_RSA_EXPORT_WITH_DES40_CBC_SHA", exp | des},
	{0x000B, "TLS_DH_DSS_EXPORT_WITH_DES40_CBC_SHA", exp | des},
	{0x000E, "TLS_DH_RSA_EXPORT_WITH_DES40_CBC_SHA", exp | des},
	{0x0011, "TLS_DHE_DSS_EXPORT_WITH_DES40_CBC_SHA", exp | des},
	{0x0014, "TLS_DHE_RSA_EXPORT_WITH_DES40_CBC_SHA", exp | des},
	{0x0062, "TLS_RSA_EXPORT1024_WITH_DES_CBC_SHA", exp | des},
	{0x0064, "TLS_RSA_EXPORT1024_WITH_RC4_56_SHA", exp | rc4},
	// Anonymous (no server authentication).
	{0x0017, "TLS_DH_anon_EXPORT_WITH_RC4_40_MD5", anon | exp | rc4},
	{0x0018, "TLS_DH_anon_WITH_RC4_128_MD5", anon | rc4},
	{0x0019, "TLS_DH_anon_EXPORT_WITH_DES40_CBC_SHA", anon | exp | des},
	{0x001A, "TLS_DH_anon_WITH_DES_CBC_SHA", anon | des},
	{0x001B, "TLS_DH_anon_WITH_3DES_EDE_CBC_SHA", anon | des3},
	{0x0034, "TLS_DH_anon_WITH_AES_128_CBC_SHA", anon},
	{0x003A, "TLS_DH_anon_WITH_AES_256_CBC_SHA", anon},
	{0x006C, "TLS_DH_anon_WITH_AES_128_CBC_SHA256", anon},
	{0x006D, "TLS_DH_anon_WITH_AES_256_CBC_SHA256", anon},
	{0x00A6, "TLS_DH_anon_WITH_AES_128_GCM_SHA256", anon},
	{0x00A7, "TLS_DH_anon_WITH_AES_256_GCM_SHA384", anon},
	{0x0046, "TLS_DH_anon_WITH_CAMELLIA_128_CBC_SHA", anon},
	{0x0089, "TLS_DH_anon_WITH_CAMELLIA_256_CBC_SHA", anon},
	{0x009B, "TLS_DH_anon_WITH_SEED_CBC_SHA", anon},
	{0xC015, "TLS_ECDH_anon_WITH_NULL_SHA", anon | null},
	{0xC016, "TLS_ECDH_anon_WITH_RC4_128_SHA", anon | rc4},
	{0xC017, "TLS_ECDH_anon_WITH_3DES_EDE_CBC_SHA", anon | des3},
	{0xC018, "TLS_ECDH_anon_WITH_AES_128_CBC_SHA", anon},
	{0xC019, "TLS_ECDH_anon_WITH_AES_256_CBC_SHA", anon},
}

var suiteByID = sync.OnceValue(func() map[uint16]Suite {
	m := make(map[uint16]Suite, len(suites))
	for _, s := range suites {
		if _, dup := m[s.ID]; dup {
			panic(fmt.Sprintf("tlsprobe: suite 0x%04x listed twice", s.ID))
		}
		m[s.ID] = s
	}
	return m
})

// LookupSuite returns the catalog entry for id; an unknown id gets a
// hexadecimal name and no class.
func LookupSuite(id uint16) (Suite, bool) {
	s, ok := suiteByID()[id]
	if !ok {
		return Suite{ID: id, Name: fmt.Sprintf("0x%04X", id)}, false
	}
	return s, true
}

// SuiteName is LookupSuite(id).Name.
func SuiteName(id uint16) string {
	s, _ := LookupSuite(id)
	return s.Name
}

// Suites returns the IDs of catalog suites that are in any of the classes
// in any (0 for every suite before TLS 1.3), excluding TLS 1.3 suites
// unless any includes ClassTLS13. The order is the catalog's: strong
// first, so a server that picks by client preference picks a modern suite.
func Suites(any Class) []uint16 {
	var out []uint16
	for _, s := range suites {
		switch {
		case any == 0 && s.Class&ClassTLS13 == 0:
		case any != 0 && s.Class&any != 0 && (s.Class&ClassTLS13 == 0 || any&ClassTLS13 != 0):
		default:
			continue
		}
		out = append(out, s.ID)
	}
	return out
}
