// The API's live stream (/api/socket) with reconnection: after a drop (a restart of fleetd, a
// network cut, a 4001 for a subscriber that fell behind) it connects again with back-off and the
// page resyncs from /api/vehicles before applying frames again.

/** Milliseconds before reconnect attempt `n` (0-based): 0.5 s doubling to at most 15 s. */
export function reconnectDelay(n) {
  return Math.min(15000, 500 * 2 ** Math.max(0, Math.min(n, 10)));
}

/** ws:// or wss:// URL of `path` on the page's own origin. */
export function socketUrl(location, path = '/api/socket') {
  return (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + path;
}

export class LiveSocket {
  /**
   * options: {url, subscription (object sent after hello), onFrame(frame), onStatus(status),
   * onOpen() (resync before frames are used), WebSocket (for tests), setTimeout}
   */
  constructor(options) {
    this.options = options;
    this.attempt = 0;
    this.stopped = false;
    this.socket = null;
    this.timer = null;
    this.status = 'connecting';
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.socket) this.socket.close(1000, 'log-out');
    this.socket = null;
  }

  setStatus(status) {
    this.status = status;
    if (this.options.onStatus) this.options.onStatus(status);
  }

  connect() {
    const WS = this.options.WebSocket || globalThis.WebSocket;
    this.setStatus(this.attempt === 0 ? 'connecting' : 'reconnecting');
    let socket;
    try {
      socket = new WS(this.options.url);
    } catch {
      this.retry();
      return;
    }
    this.socket = socket;
    socket.onmessage = async (message) => {
      let frame;
      try {
        frame = JSON.parse(message.data);
      } catch {
        return;
      }
      if (frame.type === 'hello') {
        socket.send(JSON.stringify(this.options.subscription || {}));
      } else if (frame.type === 'subscribed') {
        this.attempt = 0;
        if (this.options.onOpen) await this.options.onOpen();
        this.setStatus('live');
      } else if (frame.type === 'update' && this.status === 'live') {
        this.options.onFrame(frame);
      }
    };
    socket.onclose = () => {
      if (this.socket !== socket) return;
      this.socket = null;
      if (!this.stopped) this.retry();
    };
    socket.onerror = () => {};
  }

  retry() {
    this.setStatus('reconnecting');
    const wait = reconnectDelay(this.attempt++);
    this.timer = (this.options.setTimeout || setTimeout)(() => this.connect(), wait);
  }
}
