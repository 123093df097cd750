"""gunicorn's threaded worker, without the requests it drops when it recycles itself (config/gunicorn.conf.py).

When a gthread worker reaches `max_requests` it leaves its loop and exits. Connections it had accepted but not yet
read, and keep-alive connections on which a request had already arrived, were closed unanswered: the clients saw
a reset ("Connection reset by peer" or "Remote end closed connection without response"), even on a brand-new
connection. The load benchmark at 1M customers lost about one request per recycle that way (gunicorn issues
#3038 and #3380; the proposed fix, pull request #3039, is not released). This worker, once it has decided to exit,
accepts no new connection (a live worker takes it from the shared listen queue) and serves every request that
already reached it before leaving; idle keep-alive connections are closed as before, and a client sending on one
afterwards reconnects, as HTTP clients do.
"""

from __future__ import annotations

import time

from gunicorn.workers.gthread import ThreadWorker

#: How long an exiting worker keeps reading requests that already reached it: long enough for a connection just
#: accepted to deliver its request on loopback or a LAN, far below the graceful timeout.
DRAIN_SECONDS = 0.5
QUIET_SECONDS = 0.05


class DrainingThreadWorker(ThreadWorker):
    def accept(self, server, listener) -> None:
        if not self.alive:
            return  # exiting: leave the connection in the listen queue for a live worker
        super().accept(server, listener)

    def murder_keepalived(self) -> None:
        super().murder_keepalived()
        if not self.alive:
            self.serve_arrived()

    def serve_arrived(self) -> None:
        """Before the loop ends: stop listening, then hand every connection with a request waiting to the threads
        (the base class waits for them up to the graceful timeout before the process exits)."""
        for sock in self.sockets:
            try:
                with self._lock:
                    self.poller.unregister(sock)
            except (KeyError, ValueError, OSError):
                pass  # already unregistered
        deadline = time.monotonic() + DRAIN_SECONDS
        while time.monotonic() < deadline:
            events = self.poller.select(QUIET_SECONDS)
            if not events:
                return
            for key, _ in events:
                key.data(key.fileobj)  # on_client_socket_readable: queued for a thread
