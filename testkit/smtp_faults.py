"""An SMTP server for fault tests: it takes messages, then misbehaves the way real ones do.

A plain socket server (not aiosmtpd) so each fault is exact: how long it waits before it says
250 to a message (`data_delay`), and what it does after that (`after_accept`): "quit" answers
QUIT like any server, "drop" closes the connection at once (before QUIT's reply), "stall" never
answers QUIT. `messages` holds each accepted message's Message-ID; `receiving` is set as soon as a
message's last line arrived (before the delay), so a test can act while the server holds it.
"""

from __future__ import annotations

import re
import socket
import threading
import time

MESSAGE_ID = re.compile(rb"^Message-ID:\s*(<[^>\r\n]+>)", re.IGNORECASE | re.MULTILINE)


class FaultySmtpServer:
    def __init__(self, *, after_accept: str = "quit", data_delay: float = 0.0, port: int = 0):
        assert after_accept in ("quit", "drop", "stall")
        self.after_accept = after_accept
        self.data_delay = data_delay
        self.messages: list[str] = []  # Message-IDs, in the order the messages were accepted
        self.accepted_at: list[float] = []  # time.monotonic() of each 250
        self.receiving = threading.Event()
        self.changed = threading.Condition()
        self.listener = socket.create_server(("127.0.0.1", port))
        self.listener.settimeout(0.1)
        self.port = self.listener.getsockname()[1]
        self._open: list = []
        self._closing = threading.Event()
        self._threads = [threading.Thread(target=self._accept, daemon=True)]
        self._threads[0].start()

    def _accept(self) -> None:
        while not self._closing.is_set():
            try:
                connection, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            connection.settimeout(None)
            self._open.append(connection)
            thread = threading.Thread(target=self._converse, args=(connection,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _converse(self, connection: socket.socket) -> None:
        reader = connection.makefile("rb")
        self._open.append(reader)
        try:
            connection.sendall(b"220 faulty.example.com ESMTP\r\n")
            in_data, message = False, []
            for line in reader:
                if in_data:
                    if line != b".\r\n":
                        message.append(line)
                        continue
                    in_data = False
                    self.receiving.set()
                    if self.data_delay:
                        time.sleep(self.data_delay)
                    found = MESSAGE_ID.search(b"".join(message))
                    connection.sendall(b"250 OK: queued\r\n")
                    with self.changed:
                        self.messages.append(found.group(1).decode() if found else "")
                        self.accepted_at.append(time.monotonic())
                        self.changed.notify_all()
                    if self.after_accept == "drop":
                        connection.shutdown(socket.SHUT_RDWR)
                        connection.close()
                        return
                    message = []
                    continue
                verb = line[:4].upper()
                if verb == b"QUIT":
                    if self.after_accept == "stall":
                        self._closing.wait()  # the goodbye never comes
                        return
                    connection.sendall(b"221 Bye\r\n")
                    connection.close()
                    return
                if verb == b"DATA":
                    in_data = True
                    connection.sendall(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                elif verb == b"EHLO":
                    connection.sendall(b"250-faulty.example.com\r\n250 8BITMIME\r\n")
                else:
                    connection.sendall(b"250 OK\r\n")
        except OSError:  # close() pulled the connection away
            return

    def wait_for(self, count: int, timeout: float = 10.0) -> list[str]:
        with self.changed:
            self.changed.wait_for(lambda: len(self.messages) >= count, timeout=timeout)
        assert len(self.messages) >= count, f"expected {count} messages, got {len(self.messages)}"
        return self.messages

    def close(self) -> None:
        self._closing.set()
        self.listener.close()
        for item in self._open:
            try:
                if isinstance(item, socket.socket):
                    item.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            try:
                item.close()
            except OSError:
                pass
        for thread in self._threads:
            thread.join(timeout=5)
