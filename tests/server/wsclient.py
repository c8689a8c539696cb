"""A minimal WebSocket client (RFC 6455) for the API's tests: the handshake with a bearer token,
text frames out (masked), frames in. Only the standard library, so the tests need nothing more."""
import base64
import os
import socket
import struct


class Closed(Exception):
    """The connection ended: `code` is the close code when a close frame came, else None."""

    def __init__(self, code=None, reason=""):
        super().__init__("closed (%s) %s" % (code, reason))
        self.code = code
        self.reason = reason


class Client:
    def __init__(self, port, token, timeout=5.0, receive_buffer=None, session=None):
        """`token`: a bearer token; or `session`: a session cookie's value instead."""
        self.s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if receive_buffer:
            # Before connecting, so that the window the server sees is small too.
            self.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        self.s.settimeout(timeout)
        self.s.connect(("127.0.0.1", port))
        key = base64.b64encode(os.urandom(16)).decode()
        self.s.sendall(("GET /api/socket HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                        "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                        "Sec-WebSocket-Version: 13\r\n%s\r\n\r\n"
                        % (key, "Cookie: fleet_session=" + session if session
                           else "Authorization: Bearer " + token)).encode())
        head = b""
        while b"\r\n\r\n" not in head:
            c = self.s.recv(1)
            if not c:
                raise Closed()
            head += c
        if not head.startswith(b"HTTP/1.1 101"):
            raise AssertionError("no upgrade: %r" % head)

    def _exact(self, n):
        b = b""
        while len(b) < n:
            try:
                c = self.s.recv(n - len(b))
            except (ConnectionResetError, BrokenPipeError):
                raise Closed()
            if not c:
                raise Closed()
            b += c
        return b

    def _frame(self):
        b0, b1 = self._exact(2)
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack(">H", self._exact(2))[0]
        elif n == 127:
            n = struct.unpack(">Q", self._exact(8))[0]
        return bool(b0 & 0x80), b0 & 0x0F, self._exact(n)

    def frame(self):
        """(opcode, payload) of the next message, its fragments joined; pings skipped; Closed at
        a close frame or the end."""
        opcode, data = None, b""
        while True:
            fin, op, payload = self._frame()
            if op == 8:
                code = struct.unpack(">H", payload[:2])[0] if len(payload) >= 2 else None
                raise Closed(code, payload[2:].decode("utf-8", "replace"))
            if op in (9, 10):
                continue
            if opcode is None:
                opcode = op
            data += payload
            if fin:
                return opcode, data

    def send(self, text):
        data, mask = text.encode(), os.urandom(4)
        if len(data) < 126:
            head = bytes([0x81, 0x80 | len(data)])
        else:
            head = bytes([0x81, 0x80 | 126]) + struct.pack(">H", len(data))
        self.s.sendall(head + mask + bytes(c ^ mask[i % 4] for i, c in enumerate(data)))
