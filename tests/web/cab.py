#!/usr/bin/env python3
"""An in-cab terminal for the dashboard's test: logs in over the native protocol as DEVICE,
reports where it stands every 2 s, and answers every message as a driver does: shown, read,
then the second canned reply offered (or "On my way" as free text when none are)."""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "server"))
from devices import Native, REPLY_CANNED, REPLY_FREE_TEXT  # noqa: E402

port, device, lat, lon = int(sys.argv[1]), sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
cab = Native(port, device)
if not cab.login():
    sys.exit("cab: login refused")
answered = set()
while True:
    cab.send_position(lat, lon, time.time())
    m = cab.receive(2.0)
    while m is not None:
        if m.get("message") and m["id"] not in answered:
            answered.add(m["id"])
            cab.ack_delivered(m)
            cab.ack_read(m)
            replies = m.get("replies") or []
            if len(replies) > 1:
                cab.reply(m, REPLY_CANNED, replies[1])
            else:
                cab.reply(m, REPLY_FREE_TEXT, "On my way")
        elif not m.get("message"):
            cab.ack_delivered(m)
        m = cab.receive(0.1)
