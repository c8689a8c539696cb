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
import os
import signal
import sys
import time

# The protobuf encoding by hand is the integration tests' (tests/server/devices.py).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests",
                                "server"))
from devices import (FRAME_ACK, FRAME_LOGIN_RESULT, FRAME_NOTICE, native_batch,  # noqa: E402
                     native_login, native_notice_ack, native_position, parse_native)


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
    writer.write(native_login("%s-%d" % (args.prefix, i)))
    await writer.drain()
    batch_id = 1
    # Spread the fixes over a few metres, all well inside the area.
    lat = args.lat + (i % 40) * 1e-5
    lon = args.lon + (i // 40) * 1e-5
    sent_fix = False
    try:
        while not stop.is_set():
            field, body = parse_native(await read_frame(reader))
            if field == FRAME_LOGIN_RESULT:
                if not body.get(1, [0])[-1]:
                    raise RuntimeError("terminal %d refused" % i)
                writer.write(native_batch(batch_id, [native_position(lat, lon, time.time())]))
                await writer.drain()
                sent_fix = True
            elif field == FRAME_ACK and sent_fix:  # the fix is stored
                stored.add(i)
            elif field == FRAME_NOTICE:
                notice_id = body.get(1, [0])[-1]
                received.setdefault(i, []).append([notice_id, int(time.time() * 1000)])
                writer.write(native_notice_ack(notice_id, delivered=True))
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
