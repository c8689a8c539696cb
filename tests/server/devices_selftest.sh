#!/usr/bin/env bash
# The encoders and decoders of tests/server/devices.py against frames known from elsewhere: the
# makers' documented examples, frames the C++ tests check, and protoc's own encoding of
# proto/terminal.proto. Starts nothing.
#   devices_selftest.sh PROTOC TERMINAL_PROTO
set -euo pipefail
protoc=$1
proto=$2
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

# protoc encodes what devices.py must read, and decodes what it writes.
printf 'notice { notice_id: 77 title: "Ice" text: "Ice on the bridge" valid_from_ms: -5 valid_until_ms: 1767225600000 severity: 2 }' |
  "$protoc" --proto_path="$(dirname "$proto")" --encode=fleet.proto.terminal.Frame "$(basename "$proto")" >"$tmp/notice.bin"

PYTHONPATH=$here python3 - "$tmp" "$protoc" "$proto" <<'PY'
import os
import subprocess
import sys
import calendar

import devices as d

tmp, protoc, proto = sys.argv[1:4]
failures = 0


def check(name, got, want):
    global failures
    if got == want:
        print("ok   %s" % name)
    else:
        print("FAIL %s:\n    got  %r\n    want %r" % (name, got, want))
        failures += 1


def protoc_decode(frame):
    """protoc's text form of a length-prefixed Frame."""
    n, i = d.read_varint(frame, 0)
    check("native prefix is the Frame's length", len(frame) - i, n)
    out = subprocess.run([protoc, "--proto_path=" + os.path.dirname(proto),
                          "--decode=fleet.proto.terminal.Frame", os.path.basename(proto)],
                         input=frame[i:], capture_output=True, check=True)
    return " ".join(out.stdout.decode().split())


# Check values of the two CRCs ("123456789").
check("crc16_ibm check value", d.crc16_ibm(b"123456789"), 0xBB3D)
check("crc_itu check value", d.crc_itu(b"123456789"), 0x906E)

# Teltonika Data Sending Protocols, "Codec 8 > 1st example" (tests/ingest/teltonika_test.cpp):
# its CRC, and the envelope rebuilt around its data.
codec8 = bytes.fromhex("000000000000003608010000016B40D8EA30010000000000000000000000000000000105"
                       "021503010101425E0F01F10000601A014E0000000000000000010000C7CF")
check("teltonika: CRC of the documented Codec 8 packet", d.crc16_ibm(codec8[8:-4]), 0xC7CF)
check("teltonika: envelope of the documented Codec 8 packet",
      d.teltonika_envelope(codec8[8:-4]).hex(), codec8.hex())
# "Communication with server", and "Codec 12 > 1st example" (command) and "2nd example"
# (response).
check("teltonika: IMEI login", d.teltonika_imei("356307042441013").hex().upper(),
      "000F333536333037303432343431303133")
getinfo = bytes.fromhex("000000000000000F0C010500000007676574696E666F0100004312")
check("teltonika: Codec 12 command encoded", d.teltonika_codec12(5, "getinfo").hex(), getinfo.hex())
check("teltonika: Codec 12 command read", d.parse_codec12(getinfo), (5, "getinfo"))
getio_response = bytes.fromhex(
    "00000000000000370C01060000002F4449313A31204449323A30204449333A302041494E313A302041494E32"
    "3A313639323420444F313A3020444F323A3101000066E3")
check("teltonika: Codec 12 response encoded",
      d.teltonika_codec12(6, "DI1:1 DI2:0 DI3:0 AIN1:0 AIN2:16924 DO1:0 DO2:1").hex(),
      getio_response.hex())
packet = d.teltonika_packet(59.9375, -30.5, 1767225600.25, 47)
check("teltonika: one-record Codec 8 packet, sizes",
      (len(packet), packet[4:8].hex(), packet[8:10].hex(), packet[-5]),
      (12 + 33, "00000021", "0801", 1))
# The AVL record's fields in the order of "Codec 8 > AVL Data" and "GPS Element": 1767225600250
# ms, priority 0, longitude -305000000 and latitude 599375000 (1e-7 degrees, two's complement),
# altitude, angle, 8 satellites, 47 km/h; then an IO element with nothing in it.
check("teltonika: one-record Codec 8 packet, record",
      packet[10:40].hex(),
      "0000019b76daa8fa" "00" "edd211c0" "23b9bc98" "0000" "0000" "08" "002f" "000000000000")

# GT06 §5.1.3 login (tests/ingest/harness.hpp), §5.2.2 location (tests/fleetsim/devices_test.cpp).
check("gt06: login", d.gt06_login("123456789012345", 1).hex().upper(),
      "78780D01012345678901234500018CDD0D0A")
t = calendar.timegm((2011, 8, 29, 17, 46, 16, 0, 0, 0))
check("gt06: location 0x12",
      d.gt06_location(0x027AC7EB / 1800000.0, 0x0C465849 / 1800000.0, t, 0, 3, satellites=15,
                      course=0x08F, cell=(0x01CC, 0x00, 0x287D, 0x001FB8)).hex().upper(),
      "78781F120B081D112E10CF027AC7EB0C46584900148F01CC00287D001FB8000380810D0A")
# The server's 0x80 and the terminal's 0x21 answer, as tests/ingest/gt06_test.cpp checks them.
protocol, content, serial = d.parse_gt06(bytes.fromhex("7878108008123456784459442300020002ac8a0d0a"))
check("gt06: online command read", (protocol, d.parse_gt06_command(content), serial),
      (0x80, (0x12345678, "DYD#"), 2))
check("gt06: answer 0x21", d.gt06_answer(9, "DYD=Success!", 3).hex().upper(),
      "7878162100000009014459443D53756363657373210003A53F0D0A")

# Native: what protoc encodes reads back, what devices.py encodes protoc reads.
raw = open(os.path.join(tmp, "notice.bin"), "rb").read()
field, body = d.parse_native(raw)
check("native: protoc's Notice read", (field, d.notice_of(body)),
      (d.FRAME_NOTICE, {"kind": "notice", "id": 77, "title": "Ice", "text": "Ice on the bridge",
                        "valid_from_ms": -5, "valid_until_ms": 1767225600000, "severity": 2,
                        "message": False, "replies": []}))
check("native: login", protoc_decode(d.native_login("cab-9", "t")),
      'login { device_id: "cab-9" firmware: "t" protocol_version: 1 }')
check("native: position batch",
      protoc_decode(d.native_batch(3, [d.native_position(59.9375, -30.5, 1767225600.25, 47)])),
      "positions { batch_id: 3 positions { device_time_ms: 1767225600250 latitude: 59.9375 "
      "longitude: -30.5 speed_kmh: 47 satellites: 8 valid: true } }")
check("native: delivered ack", protoc_decode(d.native_notice_ack(77, delivered=True)),
      "notice_ack { notice_id: 77 delivered: true }")
check("native: read ack",
      protoc_decode(d.native_notice_ack(77, read_at_ms=1767225600000, accepted=True)),
      "notice_ack { notice_id: 77 read_at_ms: 1767225600000 accepted: true }")
check("native: a negative int64 is 10 bytes", d.varint(-5).hex(), "fbffffffffffffffff01")
sys.exit(1 if failures else 0)
PY
