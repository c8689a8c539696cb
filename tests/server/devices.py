"""Device clients for the integration tests: a native terminal (proto/terminal.proto), a Teltonika
tracker (Codec 8 up, Codec 12 commands and responses) and a GT06 tracker (0x01, 0x12, 0x80,
0x21), each speaking to fleetd over TCP. Only the standard library: the few protobuf messages of
the native protocol are encoded by hand.

Each client: login() connects and logs in, returning whether the server accepted the device;
send_position(lat, lon, time_s, speed_kmh=0) sends one fix and waits for the server's
acknowledgement (raising AssertionError on a wrong one, socket.timeout when none comes);
receive(timeout) returns the next downlink message as a dict, or None; ack_delivered(msg)
answers one as the device does; close(). Downlink messages that arrive while a client waits for
an acknowledgement are kept for receive()."""
import socket
import struct
import time


class Closed(Exception):
    """The server closed the connection."""


# ---- checksums ------------------------------------------------------------------------------


def crc16_ibm(data):
    """CRC-16/IBM (CRC-16/ARC): reflected polynomial 0xA001, initial value 0 (Teltonika)."""
    crc = 0
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def crc_itu(data):
    """CRC-ITU as GT06 defines it: CRC-16/X-25 (reflected 0x8408, initial and final XOR 0xFFFF)."""
    crc = 0xFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
    return crc ^ 0xFFFF


# ---- protobuf, by hand ----------------------------------------------------------------------


def varint(n):
    """Base-128 varint; a negative int64 as its 64-bit two's complement (10 bytes)."""
    if n < 0:
        n += 1 << 64
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def pb_varint(field, n):
    return varint(field << 3 | 0) + varint(n)


def pb_bytes(field, data):
    if isinstance(data, str):
        data = data.encode()
    return varint(field << 3 | 2) + varint(len(data)) + data


def pb_double(field, x):
    return varint(field << 3 | 1) + struct.pack("<d", x)


def pb_float(field, x):
    return varint(field << 3 | 5) + struct.pack("<f", x)


def read_varint(data, i):
    n, shift = 0, 0
    while True:
        if i >= len(data) or shift > 63:
            raise ValueError("truncated or overlong varint")
        b = data[i]
        n |= (b & 0x7F) << shift
        i += 1
        shift += 7
        if not b & 0x80:
            return n, i


def pb_fields(data):
    """{field number: [values]}: varints as int, length-delimited as bytes, fixed64 and fixed32
    as their 8 or 4 bytes."""
    fields, i = {}, 0
    while i < len(data):
        key, i = read_varint(data, i)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, i = read_varint(data, i)
        elif wire == 1:
            value, i = data[i:i + 8], i + 8
        elif wire == 2:
            n, i = read_varint(data, i)
            value, i = data[i:i + n], i + n
        elif wire == 5:
            value, i = data[i:i + 4], i + 4
        else:
            raise ValueError("wire type %d" % wire)
        if i > len(data):
            raise ValueError("truncated field %d" % field)
        fields.setdefault(field, []).append(value)
    return fields


def int64(n):
    """A varint read back as int64."""
    return n - (1 << 64) if n >= 1 << 63 else n


# terminal.proto: Frame's oneof body, and the fields used here.
FRAME_LOGIN, FRAME_LOGIN_RESULT, FRAME_POSITIONS, FRAME_ACK, FRAME_NOTICE, FRAME_NOTICE_ACK, \
    FRAME_NOTICE_REPLY = range(1, 8)
# NoticeReply.Kind
REPLY_ACKNOWLEDGED, REPLY_CANNOT_COMPLY, REPLY_CANNED, REPLY_FREE_TEXT = range(4)


def native_frame(body_field, message):
    """A Frame with one body, prefixed with its length as a varint."""
    frame = pb_bytes(body_field, message)
    return varint(len(frame)) + frame


def native_login(device_id, firmware="devices.py"):
    return native_frame(FRAME_LOGIN, pb_bytes(1, device_id) + pb_bytes(2, firmware) + pb_varint(3, 1))


def native_position(lat, lon, time_s, speed_kmh=0):
    """Position: device_time_ms, latitude, longitude (doubles), speed, satellites 8, valid."""
    return (pb_varint(1, int(round(time_s * 1000))) + pb_double(2, lat) + pb_double(3, lon) +
            pb_float(4, speed_kmh) + pb_varint(7, 8) + pb_varint(8, 1))


def native_batch(batch_id, positions):
    return native_frame(FRAME_POSITIONS,
                        pb_varint(1, batch_id) + b"".join(pb_bytes(2, p) for p in positions))


def native_notice_ack(notice_id, delivered=False, read_at_ms=0, accepted=False):
    body = pb_varint(1, notice_id)
    if read_at_ms:
        body += pb_varint(2, read_at_ms)
    if accepted:
        body += pb_varint(3, 1)
    if delivered:
        body += pb_varint(4, 1)
    return native_frame(FRAME_NOTICE_ACK, body)


def native_notice_reply(notice_id, kind, text="", replied_at_ms=0):
    body = pb_varint(1, notice_id) + pb_varint(2, kind)
    if text:
        body += pb_bytes(3, text)
    if replied_at_ms:
        body += pb_varint(4, replied_at_ms)
    return native_frame(FRAME_NOTICE_REPLY, body)


def parse_native(frame_body):
    """(body field, {field: [values]} of the body message) of a Frame without its prefix."""
    fields = pb_fields(frame_body)
    if len(fields) != 1:
        raise AssertionError("Frame with %d bodies" % len(fields))
    (field, values), = fields.items()
    return field, pb_fields(values[-1])


def notice_of(fields):
    one = lambda f, default: fields.get(f, [default])[-1]
    return {"kind": "notice", "id": one(1, 0), "title": one(2, b"").decode(),
            "text": one(3, b"").decode(), "valid_from_ms": int64(one(4, 0)),
            "valid_until_ms": int64(one(5, 0)), "severity": one(6, 0),
            "message": bool(one(7, 0)), "replies": [r.decode() for r in fields.get(8, [])]}


# ---- Teltonika ------------------------------------------------------------------------------


def teltonika_envelope(data):
    """Preamble, data size, data, CRC-16/IBM over the data as 4 bytes (Codec 8 and 12)."""
    return struct.pack(">II", 0, len(data)) + data + struct.pack(">I", crc16_ibm(data))


def teltonika_imei(imei):
    return struct.pack(">H", len(imei)) + imei.encode()


def teltonika_packet(lat, lon, time_s, speed_kmh=0, satellites=8):
    """Codec 8, one record: timestamp, priority 0, GPS element, an IO element holding nothing."""
    record = struct.pack(">QBiihHBH", int(round(time_s * 1000)), 0, int(round(lon * 1e7)),
                         int(round(lat * 1e7)), 0, 0, satellites, int(round(speed_kmh)))
    record += bytes([0, 0, 0, 0, 0, 0])  # event IO, total, and the four groups: none
    return teltonika_envelope(bytes([0x08, 1]) + record + bytes([1]))


def teltonika_codec12(message_type, text):
    """Codec 12 with one command (type 5) or response (type 6)."""
    text = text.encode()
    return teltonika_envelope(bytes([0x0C, 1, message_type]) + struct.pack(">I", len(text)) +
                              text + bytes([1]))


def parse_codec12(frame):
    """(type, text) of a whole Codec 12 frame, after its sizes and CRC were checked."""
    size = struct.unpack(">I", frame[4:8])[0]
    data = frame[8:8 + size]
    if frame[:4] != bytes(4) or len(frame) != 12 + size:
        raise AssertionError("Codec 12 frame of the wrong length: %s" % frame.hex())
    if struct.unpack(">I", frame[-4:])[0] != crc16_ibm(data):
        raise AssertionError("Codec 12 CRC mismatch: %s" % frame.hex())
    if data[0] != 0x0C or data[1] != 1 or data[-1] != 1:
        raise AssertionError("not a Codec 12 frame of one message: %s" % frame.hex())
    n = struct.unpack(">I", data[3:7])[0]
    if n != len(data) - 8:
        raise AssertionError("Codec 12 size %d in %d bytes" % (n, len(data)))
    return data[2], data[7:7 + n].decode("ascii", "replace")


# ---- GT06 -----------------------------------------------------------------------------------


def gt06_frame(protocol_number, content, serial):
    """78 78, length, protocol number, content, serial, CRC-ITU over length..serial, 0D 0A."""
    body = bytes([1 + len(content) + 4, protocol_number]) + content + struct.pack(">H", serial)
    return b"\x78\x78" + body + struct.pack(">H", crc_itu(body)) + b"\r\n"


def gt06_login(imei, serial=1):
    """0x01: the IMEI as 8 BCD bytes (15 digits get a leading 0)."""
    digits = imei if len(imei) == 16 else "0" + imei
    return gt06_frame(0x01, bytes.fromhex(digits), serial)


def gt06_location(lat, lon, time_s, speed_kmh=0, serial=1, satellites=8, course=0,
                  cell=(250, 1, 0x1234, 0x00ABCD)):
    """0x12 dated in UTC (the server takes a login without time zone as UTC): date, GPS info
    (length 12, satellites), latitude and longitude in degrees x 1 800 000, speed, course and
    status (positioned, north, west), then MCC, MNC, LAC, cell id."""
    t = time.gmtime(int(time_s))
    status = course & 0x03FF | 0x1000
    if lat >= 0:
        status |= 0x0400
    if lon < 0:
        status |= 0x0800
    mcc, mnc, lac, cell_id = cell
    content = bytes([t.tm_year % 100, t.tm_mon, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec,
                     0xC0 | min(satellites, 15)])
    content += struct.pack(">IIBHHBH", int(round(abs(lat) * 1800000)),
                           int(round(abs(lon) * 1800000)), min(int(round(speed_kmh)), 255),
                           status, mcc, mnc, lac)
    content += struct.pack(">BH", cell_id >> 16, cell_id & 0xFFFF)
    return gt06_frame(0x12, content, serial)


def gt06_answer(server_flag, text, serial):
    """0x21, the answer to an online command: server flag, encoding 1 (ASCII), text."""
    return gt06_frame(0x21, struct.pack(">IB", server_flag, 1) + text.encode(), serial)


def parse_gt06(frame):
    """(protocol number, content, serial) of a whole 0x78 0x78 frame, its CRC checked."""
    if frame[:2] != b"\x78\x78" or frame[-2:] != b"\r\n" or len(frame) != frame[2] + 5:
        raise AssertionError("malformed GT06 frame: %s" % frame.hex())
    if struct.unpack(">H", frame[-4:-2])[0] != crc_itu(frame[2:-4]):
        raise AssertionError("GT06 CRC mismatch: %s" % frame.hex())
    return frame[3], frame[4:-6], struct.unpack(">H", frame[-6:-4])[0]


def parse_gt06_command(content):
    """(server flag, text) of a 0x80's content: length, flag, text, language."""
    if len(content) < 7 or content[0] != len(content) - 3:
        raise AssertionError("0x80 whose length of command disagrees: %s" % content.hex())
    return struct.unpack(">I", content[1:5])[0], content[5:-2].decode("ascii", "replace")


# ---- the clients ----------------------------------------------------------------------------


class _Client:
    def __init__(self, port, timeout=5.0):
        self.port, self.timeout = port, timeout
        self.s = None
        self.rx = b""
        self.pending = []  # downlink messages that came while waiting for an acknowledgement

    def _connect(self):
        if self.s is None:
            self.s = socket.create_connection(("127.0.0.1", self.port), timeout=self.timeout)

    def _fill(self, deadline):
        """More bytes into rx before `deadline` (time.monotonic()); socket.timeout after."""
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout("no answer in time")
        self.s.settimeout(left)
        try:
            data = self.s.recv(4096)
        except (ConnectionResetError, BrokenPipeError):
            raise Closed()
        if not data:
            raise Closed()
        self.rx += data

    def _take(self, n, deadline):
        while len(self.rx) < n:
            self._fill(deadline)
        out, self.rx = self.rx[:n], self.rx[n:]
        return out

    def _peek(self, n, deadline):
        while len(self.rx) < n:
            self._fill(deadline)
        return self.rx[:n]

    def _deadline(self, timeout=None):
        return time.monotonic() + (self.timeout if timeout is None else timeout)

    def receive(self, timeout=1.0):
        """The next downlink message, or None when none comes within `timeout` seconds."""
        if self.pending:
            return self.pending.pop(0)
        deadline = self._deadline(timeout)
        try:
            while not self.pending:
                self._downlink_or_other(deadline)
        except socket.timeout:
            return None
        return self.pending.pop(0)

    def close(self):
        if self.s is not None:
            self.s.close()
            self.s = None


class Native(_Client):
    """The in-cab terminal (proto/terminal.proto)."""

    def __init__(self, port, device_id, timeout=5.0):
        super().__init__(port, timeout)
        self.device_id = device_id
        self.batch_id = 0

    def _frame(self, deadline):
        n, i = 0, 0
        while True:
            b = self._peek(i + 1, deadline)[i]
            n |= (b & 0x7F) << (7 * i)
            i += 1
            if not b & 0x80:
                break
            if i == 5:
                raise AssertionError("length prefix over 5 bytes")
        self._take(i, deadline)
        return parse_native(self._take(n, deadline))

    def _downlink_or_other(self, deadline):
        field, body = self._frame(deadline)
        if field == FRAME_NOTICE:
            self.pending.append(notice_of(body))
            return None
        return field, body

    def login(self):
        self._connect()
        self.s.sendall(native_login(self.device_id))
        deadline = self._deadline()
        try:
            while True:
                got = self._downlink_or_other(deadline)
                if got and got[0] == FRAME_LOGIN_RESULT:
                    return bool(got[1].get(1, [0])[-1])
        except Closed:
            return False

    def send_position(self, lat, lon, time_s, speed_kmh=0):
        """Returns the number of positions the Ack says are stored (1)."""
        self.batch_id += 1
        self.s.sendall(native_batch(self.batch_id,
                                    [native_position(lat, lon, time_s, speed_kmh)]))
        deadline = self._deadline()
        while True:
            got = self._downlink_or_other(deadline)
            if got and got[0] == FRAME_ACK and got[1].get(1, [0])[-1] == self.batch_id:
                stored = got[1].get(2, [0])[-1]
                if stored != 1:
                    raise AssertionError("batch %d: %d stored" % (self.batch_id, stored))
                return stored

    def ack_delivered(self, msg):
        """NoticeAck{delivered}: the terminal shows the notice."""
        self.s.sendall(native_notice_ack(msg["id"], delivered=True))

    def ack_read(self, msg, accepted=True, read_at_ms=None):
        """NoticeAck{read_at_ms, accepted}: the driver read it (now, unless given)."""
        if read_at_ms is None:
            read_at_ms = int(time.time() * 1000)
        self.s.sendall(native_notice_ack(msg["id"], read_at_ms=read_at_ms, accepted=accepted))


    def reply(self, msg, kind, text=""):
        """NoticeReply: the driver answers a dispatcher's message."""
        self.s.sendall(native_notice_reply(msg["id"], kind, text, int(time.time() * 1000)))


class Teltonika(_Client):
    """A Teltonika tracker: IMEI login, Codec 8 packets, Codec 12 commands answered."""

    def __init__(self, port, imei, timeout=5.0):
        super().__init__(port, timeout)
        self.imei = imei

    def _downlink_or_other(self, deadline):
        # A record count is never 0 here (every packet holds one record): 4 zero bytes are the
        # preamble of a Codec 12 command.
        head = self._peek(4, deadline)
        if head != bytes(4):
            return self._take(4, deadline)
        size = struct.unpack(">I", self._peek(8, deadline)[4:8])[0]
        message_type, text = parse_codec12(self._take(12 + size, deadline))
        if message_type != 5:
            raise AssertionError("Codec 12 type %d from the server" % message_type)
        self.pending.append({"kind": "command", "text": text})
        return None

    def login(self):
        self._connect()
        self.s.sendall(teltonika_imei(self.imei))
        try:
            return self._take(1, self._deadline()) == b"\x01"
        except Closed:
            return False

    def send_position(self, lat, lon, time_s, speed_kmh=0):
        self.s.sendall(teltonika_packet(lat, lon, time_s, speed_kmh))
        deadline = self._deadline()
        while True:
            got = self._downlink_or_other(deadline)
            if got is not None:
                if got != struct.pack(">I", 1):
                    raise AssertionError("ACK %s for one record" % got.hex())
                return 1

    def ack_delivered(self, msg, answer=None):
        """A Codec 12 response, "OK <command>" unless `answer` is given."""
        self.s.sendall(teltonika_codec12(6, answer if answer is not None else "OK " + msg["text"]))


class Gt06(_Client):
    """A GT06 tracker: login 0x01, locations 0x12, online commands 0x80 answered with 0x21."""

    def __init__(self, port, imei, timeout=5.0):
        super().__init__(port, timeout)
        self.imei = imei
        self.serial = 0

    def _next_serial(self):
        self.serial = (self.serial + 1) & 0xFFFF
        return self.serial

    def _downlink_or_other(self, deadline):
        length = self._peek(3, deadline)[2]
        protocol, content, serial = parse_gt06(self._take(length + 5, deadline))
        if protocol == 0x80:
            flag, text = parse_gt06_command(content)
            self.pending.append({"kind": "command", "id": flag, "text": text})
            return None
        return protocol, serial

    def login(self):
        self._connect()
        serial = self._next_serial()
        self.s.sendall(gt06_login(self.imei, serial))
        try:
            return self._downlink_or_other(self._deadline()) == (0x01, serial)
        except Closed:
            return False  # a refused device gets no answer: the server closes

    def send_position(self, lat, lon, time_s, speed_kmh=0):
        serial = self._next_serial()
        self.s.sendall(gt06_location(lat, lon, time_s, speed_kmh, serial))
        deadline = self._deadline()
        while True:
            got = self._downlink_or_other(deadline)
            if got == (0x12, serial):
                return 1

    def ack_delivered(self, msg, answer=None):
        """0x21 echoing the command's server flag, "OK <command>" unless `answer` is given."""
        text = answer if answer is not None else "OK " + msg["text"]
        self.s.sendall(gt06_answer(msg["id"], text, self._next_serial()))
