package shadowserver

import (
	"io"
	"strconv"
)

// rowGen is a report generated on the fly: a header and n rows in the
// layout of the shipped samples, never held in memory whole. With bad > 0,
// every bad-th row has an invalid address.
type rowGen struct {
	report string
	n, bad int
	i      int // rows written
	buf    []byte
	off    int
}

const snmpHeader = `"timestamp","ip","protocol","port","hostname","sysdesc","sysname","asn","geo","region","city","version","naics","sic","sector","device_vendor","device_type","device_model","device_version","device_sector","tag","community","response_size","amplification"` + "\n"

const sinkholeHeader = `"timestamp","protocol","src_ip","src_port","src_asn","src_geo","src_region","src_city","src_hostname","src_naics","src_sector","device_vendor","device_type","device_model","dst_ip","dst_port","dst_asn","dst_geo","dst_region","dst_city","dst_hostname","dst_naics","dst_sector","public_source","infection","family","tag","application","version","event_id"` + "\n"

func (g *rowGen) Read(p []byte) (int, error) {
	if g.off == len(g.buf) {
		if g.i > g.n {
			return 0, io.EOF
		}
		g.fill()
	}
	n := copy(p, g.buf[g.off:])
	g.off += n
	return n, nil
}

// fill writes the header or the next batch of rows.
func (g *rowGen) fill() {
	g.buf, g.off = g.buf[:0], 0
	if g.i == 0 {
		if g.report == "event4_sinkhole" {
			g.buf = append(g.buf, sinkholeHeader...)
		} else {
			g.buf = append(g.buf, snmpHeader...)
		}
		g.i = 1
	}
	families := [...]string{"mirai", "virut", "andromeda", "emotet", "qakbot", "victorygate.b"}
	num := strconv.AppendInt
	for k := 0; k < 256 && g.i <= g.n; k, g.i = k+1, g.i+1 {
		i := g.i
		b := append(g.buf, `"2026-12-01 `...)
		h, m, sec := i/3600%24, i/60%60, i%60
		b = append(b, byte('0'+h/10), byte('0'+h%10), ':', byte('0'+m/10), byte('0'+m%10), ':', byte('0'+sec/10), byte('0'+sec%10), '"', ',')
		ip := func(b []byte) []byte {
			b = num(b, int64(10+i>>24&0x7f), 10)
			for _, o := range []int{i >> 16 & 0xff, i >> 8 & 0xff, i & 0xff} {
				b = num(append(b, '.'), int64(o), 10)
			}
			if g.bad > 0 && i%g.bad == 0 {
				b = append(b, ".9"...)
			}
			return b
		}
		if g.report == "event4_sinkhole" {
			f := families[i%len(families)]
			b = ip(append(b, `"tcp","`...))
			b = num(append(b, `",`...), int64(1024+i%60000), 10)
			b = num(append(b, ','), int64(64496+i%10), 10)
			b = num(append(b, `,"VN","HA NOI","HANOI",,,,,,,"192.0.2.`...), int64(i%250), 10)
			b = append(b, `",80,64500,"DE","HESSEN","FRANKFURT AM MAIN",,518210,"Communications, Service Provider, and Hosting Service","eset","`...)
			b = append(b, f...)
			b = append(b, `","`...)
			b = append(b, f...)
			b = num(append(b, `",,,,`...), int64(i), 10)
			g.buf = append(b, '\n')
			continue
		}
		b = ip(b)
		b = num(append(b, ",udp,161,node"...), int64(i), 10)
		b = append(b, `.example.com,"Linux router 3.18.20 #1 SMP armv7l",,64512,VN,Ha Noi,Ha Noi,2,0,0,,MikroTik,router,,,consumer,"snmp,iot",public,`...)
		b = num(b, int64(80+i%200), 10)
		b = num(append(b, ','), int64(1+i%3), 10)
		b = append(b, '.', byte('0'+i/10%10), byte('0'+i%10), '\n')
		g.buf = b
	}
}
