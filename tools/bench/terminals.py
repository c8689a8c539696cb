#!/usr/bin/env python3
"""A fleet of native in-cab terminals (proto/terminal.proto) for the notice benchmark.

Opens COUNT connections to fleetd's native port, logs each in as PREFIX-i, reports one fix at
LAT, LON (spread over a few metres) and waits for its Ack; then reads every frame the server
sends and answers each Notice at once with a delivery receipt (NoticeAck, delivered = true),
noting when it arrived. Writes "ready" to READY_FILE once every terminal has its fix stored, and
on SIGTERM (or after --seconds) prints one JSON line: the notices each terminal received, with
the arrival time in Unix milliseconds. Standard library only: the few protobuf messages are
encoded by hand (varints, length-delimited fields, fixed64 doubles).
"""
import argparse
import asyncio
import json
import signal
import struct
import sys
import time


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field(number, wire, payload):
    key = varint((number << 3) | wire)
    if wire == 0:
        return key + varint(payload)
    if wire == 1:
        return key + payload
    return key + varint(len(payload)) + payload


def frame(body_field, body):
    f = field(body_field, 2, body)
    return varint(len(f)) + f


def login(device_id):
    return frame(1, field(1, 2, device_id.encode()) + field(3, 0, 1))


def batch(batch_id, time_ms, lat, lon):
    position = (field(1, 0, time_ms) + field(2, 1, struct.pack("<d", lat)) +
                field(3, 1, struct.pack("<d", lon)) + field(7, 0, 9) + field(8, 0, 1))
    return frame(3, field(1, 0, batch_id) + field(2, 2, position))


def delivered(notice_id):
    return frame(6, field(1, 0, notice_id) + field(4, 0, 1))


def read_varint(data, i):
    n = shift = 0
    while True:
        b = data[i]
        i += 1
        n |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return n, i


def fields(data):
    """(number, wire, value) of a message: ints for varints, bytes otherwise."""
    i = 0
    while i < len(data):
        key, i = read_varint(data, i)
        number, wire = key >> 3, key & 7
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
        yield number, wire, value


async def read_frame(reader):
    n = shift = 0
    while True:
        b = (await reader.readexactly(1))[0]
        n |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            break
    return await reader.readexactly(n)


async def terminal(i, args, received, stored, stop):
    reader, writer = await asyncio.open_connection(args.host, args.port)
    writer.write(login("%s-%d" % (args.prefix, i)))
    await writer.drain()
    batch_id = 1
    # Spread the fixes over a few metres, all well inside the area.
    lat = args.lat + (i % 40) * 1e-5
    lon = args.lon + (i // 40) * 1e-5
    sent_fix = False
    try:
        while not stop.is_set():
            data = await read_frame(reader)
            for number, _, body in fields(data):
                if number == 2:  # LoginResult
                    accepted = any(n == 1 and v == 1 for n, _, v in fields(body))
                    if not accepted:
                        raise RuntimeError("terminal %d refused" % i)
                    writer.write(batch(batch_id, int(time.time() * 1000), lat, lon))
                    await writer.drain()
                    sent_fix = True
                elif number == 4 and sent_fix:  # Ack of the fix
                    stored.add(i)
                elif number == 5:  # Notice
                    notice_id = next((v for n, _, v in fields(body) if n == 1), 0)
                    received.setdefault(i, []).append([notice_id, int(time.time() * 1000)])
                    writer.write(delivered(notice_id))
                    await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def main():
    p = argparse.ArgumentParser()
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--count", type=int, default=1000)
    p.add_argument("--prefix", default="cab")
    p.add_argument("--lat", type=float, required=True)
    p.add_argument("--lon", type=float, required=True)
    p.add_argument("--ready-file", required=True)
    p.add_argument("--seconds", type=float, default=600)
    args = p.parse_args()
    received, stored, stop = {}, set(), asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    tasks = []
    for i in range(args.count):
        tasks.append(asyncio.create_task(terminal(i, args, received, stored, stop)))
        if i % 100 == 99:
            await asyncio.sleep(0.05)  # not every login at once
    deadline = time.time() + 60
    while len(stored) < args.count and time.time() < deadline:
        await asyncio.sleep(0.05)
    if len(stored) < args.count:
        print("only %d of %d terminals stored their fix" % (len(stored), args.count), file=sys.stderr)
        sys.exit(1)
    open(args.ready_file, "w").write("ready\n")
    try:
        await asyncio.wait_for(stop.wait(), args.seconds)
    except asyncio.TimeoutError:
        pass
    for t in tasks:
        t.cancel()
    print(json.dumps({"received": received}))


if __name__ == "__main__":
    asyncio.run(main())
