import { describe, it, expect } from 'vitest';
import { LiveSocket, reconnectDelay, socketUrl } from '../src/live.js';

class FakeSocket {
  static made = [];
  constructor(url) {
    this.url = url;
    this.sent = [];
    FakeSocket.made.push(this);
  }
  send(text) { this.sent.push(JSON.parse(text)); }
  close() { this.onclose && this.onclose(); }
  receive(frame) { return this.onmessage({ data: JSON.stringify(frame) }); }
}

describe('the live stream', () => {
  it('backs off from half a second to fifteen', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 20].map(reconnectDelay)).toEqual([500, 1000, 2000, 4000, 8000, 15000, 15000, 15000]);
  });
  it('speaks ws or wss as the page does', () => {
    expect(socketUrl({ protocol: 'http:', host: 'h:8082' })).toBe('ws://h:8082/api/socket');
    expect(socketUrl({ protocol: 'https:', host: 'h' })).toBe('wss://h/api/socket');
  });
  it('subscribes, resyncs before frames, reconnects after a drop', async () => {
    FakeSocket.made = [];
    const frames = [];
    const statuses = [];
    const timers = [];
    let resyncs = 0;
    const live = new LiveSocket({
      url: 'ws://x/api/socket',
      subscription: { notices: false },
      WebSocket: FakeSocket,
      setTimeout: (f, ms) => timers.push([f, ms]),
      onFrame: (f) => frames.push(f),
      onStatus: (s) => statuses.push(s),
      onOpen: async () => { resyncs++; },
    });
    live.start();
    const first = FakeSocket.made[0];
    await first.receive({ type: 'update', positions: [1] }); // before subscribing: not used
    await first.receive({ type: 'hello' });
    expect(first.sent).toEqual([{ notices: false }]);
    await first.receive({ type: 'subscribed' });
    await first.receive({ type: 'update', positions: [2] });
    expect(frames).toEqual([{ type: 'update', positions: [2] }]);
    expect(resyncs).toBe(1);
    first.close();
    expect(statuses.at(-1)).toBe('reconnecting');
    expect(timers[0][1]).toBe(500);
    timers[0][0]();
    const second = FakeSocket.made[1];
    await second.receive({ type: 'hello' });
    await second.receive({ type: 'subscribed' });
    expect(resyncs).toBe(2);
    expect(statuses.at(-1)).toBe('live');
    live.stop();
    expect(timers).toHaveLength(1); // a stop does not reconnect
  });
});
