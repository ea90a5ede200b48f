"""An LMTP server that writes each message it takes to DIR/NAME-N.eml, for
regenerate.sh: just enough of RFC 2033 for Postfix's lmtp(8) client."""
import socketserver, sys, os

directory, port = sys.argv[1], int(sys.argv[2])
count = [0]

class Session(socketserver.StreamRequestHandler):
    def reply(self, line):
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self):
        self.reply("220 sink LMTP")
        recipients = []
        while True:
            line = self.rfile.readline()
            if not line:
                return
            command = line.decode(errors="replace").strip()
            verb = command.split(" ")[0].upper()
            if verb == "LHLO":
                self.reply("250-sink\r\n250 PIPELINING")
            elif verb == "MAIL":
                recipients = []
                self.reply("250 2.1.0 ok")
            elif verb == "RCPT":
                recipients.append(command.split(":", 1)[1].strip("<> "))
                self.reply("250 2.1.5 ok")
            elif verb == "DATA":
                self.reply("354 go")
                data = b""
                while True:
                    line = self.rfile.readline()
                    if line in (b".\r\n", b".\n", b""):
                        break
                    data += line[1:] if line.startswith(b"..") else line
                count[0] += 1
                with open(os.path.join(directory, f"received-{count[0]}.eml"), "wb") as out:
                    out.write(data.replace(b"\r\n", b"\n"))
                for _ in recipients:
                    self.reply("250 2.0.0 ok")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("250 ok")

socketserver.ThreadingTCPServer.allow_reuse_address = True
socketserver.ThreadingTCPServer(("127.0.0.1", port), Session).serve_forever()
