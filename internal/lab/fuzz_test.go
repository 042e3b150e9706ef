package lab

import (
	"io"
	"net"
	"testing"
	"time"
)

// FuzzProtocols feeds arbitrary client bytes to every line-protocol server:
// none may panic, and each must end the conversation once the client stops.
func FuzzProtocols(f *testing.F) {
	for _, seed := range []string{
		"*2\r\n$4\r\nINFO\r\n$6\r\nserver\r\n",
		"*1\r\n$-1\r\n",
		"*99\r\n",
		"PING\r\nGET session:cong-dan:1024\r\nQUIT\r\n",
		"USER anonymous\r\nPASS x\r\nLIST\r\nQUIT\r\n",
		"EHLO x\r\nSTARTTLS\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\nQUIT\r\n",
		"stats\r\nversion\r\nget a b\r\n",
		"\xff\xfd\x18\xff\xfb\x01root\r\npassword\r\n",
	} {
		f.Add([]byte(seed))
	}
	handlers := map[string]func(net.Conn){
		"redis": redis, "memcached": memcached, "ftp": ftp,
		"smtp": smtp("mail.example"), "telnet": telnet("host.example"),
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		for name, h := range handlers {
			client, server := net.Pipe()
			done := make(chan struct{})
			go func() {
				defer close(done)
				defer server.Close()
				h(server)
			}()
			go io.Copy(io.Discard, client)
			client.SetWriteDeadline(time.Now().Add(time.Second))
			client.Write(in)
			client.Close()
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				t.Fatalf("%s did not end after the client left", name)
			}
		}
	})
}
